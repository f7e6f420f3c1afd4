"""Running the app on uvicorn, with live sessions in mind.

uvicorn's graceful shutdown closes every connection before the app's lifespan shutdown runs, so
live sessions would see uvicorn's 1012 instead of the documented 4000 ("reconnect"). ``Server``
first asks the node to close its sessions with 4000, then shuts down as uvicorn does.
"""

from __future__ import annotations

import socket
from typing import Any

import uvicorn
from starlette.applications import Starlette

from backchannel.realtime.protocol import MAX_FRAME_BYTES


def uvicorn_config(app: Starlette, **options: Any) -> uvicorn.Config:
    """uvicorn settings for Backchannel; ``options`` (host, port, log_level, …) override."""
    settings: dict[str, Any] = {
        "lifespan": "on",
        "ws": "websockets-sansio",
        "ws_max_size": MAX_FRAME_BYTES + 1024,  # a little over, so the app can say why
        "proxy_headers": False,
        **options,
    }
    return uvicorn.Config(app, **settings)


class Server(uvicorn.Server):
    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        node = getattr(getattr(self.config.app, "state", None), "node", None)
        if node is not None:
            await node.shutdown()
        await super().shutdown(sockets)
