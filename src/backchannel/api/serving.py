"""Running the app on uvicorn, with live sessions in mind.

uvicorn's graceful shutdown closes every connection before the app's lifespan shutdown runs, so
live sessions would see uvicorn's 1012 instead of the documented 4000 ("reconnect"). ``Server``
first asks the node to close its sessions with 4000, then shuts down as uvicorn does.

``CoalescingWebSocketProtocol`` is uvicorn's WebSocket protocol (``websockets-sansio``) with
one change: the frames a connection is given to send during one turn of the event loop go out
in one write at the end of it, not one system call each.
"""

from __future__ import annotations

import gc
import socket
from typing import Any

import uvicorn
from starlette.applications import Starlette
from uvicorn._types import ASGISendEvent
from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState

from backchannel.realtime.protocol import MAX_FRAME_BYTES


def uvicorn_config(app: Starlette, **options: Any) -> uvicorn.Config:
    """uvicorn settings for Backchannel; ``options`` (host, port, log_level, …) override."""
    settings: dict[str, Any] = {
        "lifespan": "on",
        "ws": CoalescingWebSocketProtocol,
        "ws_max_size": MAX_FRAME_BYTES + 1024,  # a little over, so the app can say why
        "proxy_headers": False,
        **options,
    }
    return uvicorn.Config(app, **settings)


class Server(uvicorn.Server):
    """uvicorn's server; with ``freeze_gc``, what exists once the app has started (modules, the
    schema, the engine) is moved out of the garbage collector's way (``gc.freeze``), so that a
    full collection under load scans only what was made since: tens of milliseconds less."""

    def __init__(self, config: uvicorn.Config, *, freeze_gc: bool = False) -> None:
        super().__init__(config)
        self.freeze_gc = freeze_gc

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.freeze_gc:
            gc.collect()
            gc.freeze()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        node = getattr(getattr(self.config.app, "state", None), "node", None)
        if node is not None:
            await node.shutdown()
        await super().shutdown(sockets)


class CoalescingWebSocketProtocol(WebSocketsSansIOProtocol):
    """Frames sent in one turn of the event loop leave in one write.

    A live session sends events in bursts (a batch of messages is a frame each to every member),
    and a system call per frame is most of what a delivery costs. Here a ``websocket.send``
    only frames the message into the connection's outgoing buffer (websockets' sans-I/O
    ``ServerProtocol``) and schedules one flush for the end of the turn. Whatever else writes —
    a pong, a close, a keepalive ping — takes the whole buffer with it, so frames never change
    order. While the transport is over its high-water mark, sends wait as uvicorn's do.
    """

    _flush_scheduled = False

    async def send(self, message: ASGISendEvent) -> None:
        if (
            message["type"] != "websocket.send"
            or not self.handshake_complete
            or self.close_sent
            or self.initial_response is not None
            or self.disconnected
            or not self.writable.is_set()
        ):
            await super().send(message)
            return
        try:
            data, text = message.get("bytes"), message.get("text")
            if data is not None:
                self.conn.send_binary(data)
            elif text is not None:
                self.conn.send_text(text.encode())
        except InvalidState:
            raise ClientDisconnected() from None
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        output = self.conn.data_to_send()
        if output and not self.transport.is_closing():
            self.transport.write(b"".join(output))
