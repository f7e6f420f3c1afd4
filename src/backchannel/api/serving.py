"""Running the app on uvicorn, with live sessions in mind.

uvicorn's graceful shutdown closes every connection before the app's lifespan shutdown runs, so
live sessions would see uvicorn's 1012 instead of the documented 4000 ("reconnect"). ``Server``
first asks the node to close its sessions with 4000, then shuts down as uvicorn does.

``CoalescingWebSocketProtocol`` is uvicorn's WebSocket protocol (``websockets-sansio``) with
one change: frames go out many to a write, not one system call each.
"""

from __future__ import annotations

import functools
import gc
import socket
import struct
from collections import deque
from collections.abc import Iterable
from typing import Any

import uvicorn
from starlette.applications import Starlette
from uvicorn._types import ASGISendEvent
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request
from websockets.protocol import State

from backchannel.realtime.protocol import MAX_FRAME_BYTES, SEND_TEXTS, Outgoing, texts_of


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


YOUNG_COLLECTION = 10_000  # net allocations between collections of the youngest generation


class Server(uvicorn.Server):
    """uvicorn's server; with ``tune_gc``, the garbage collector keeps out of a busy server's way.

    - What exists once the app has started (modules, the schema, the engine) is moved out of its
      reach (``gc.freeze``): a full collection scans only what was made since.
    - Its youngest generation is collected after ``YOUNG_COLLECTION`` net allocations, not
      Python's 700. A batch of live sends holds a few thousand objects for a moment: at 700,
      collections caught them alive and promoted them, and every few seconds a full collection
      followed, rescanning every connection's objects (a few hundred each) while the event loop
      stood still (docs/performance.md, item 16). What does build up, such as new connections
      or reference cycles, is still collected.
    """

    def __init__(self, config: uvicorn.Config, *, tune_gc: bool = False) -> None:
        super().__init__(config)
        self.tune_gc = tune_gc

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.tune_gc:
            gc.collect()
            gc.freeze()
            gc.set_threshold(YOUNG_COLLECTION, *gc.get_threshold()[1:])

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        node = getattr(getattr(self.config.app, "state", None), "node", None)
        if node is not None:
            await node.shutdown()
        await super().shutdown(sockets)


@functools.lru_cache(maxsize=512)
def text_frame(text: str) -> bytes:
    """A whole unmasked, uncompressed text frame (RFC 6455, 5.2), built once for all the
    connections an event goes to."""
    payload = text.encode()
    size = len(payload)
    if size < 126:
        return bytes((0x81, size)) + payload
    if size < 1 << 16:
        return struct.pack("!BBH", 0x81, 126, size) + payload
    return struct.pack("!BBQ", 0x81, 127, size) + payload


_blocks: deque[tuple[tuple[str, ...], bytes]] = deque(maxlen=2)


def text_frames(outgoing: Outgoing) -> bytes:
    """The frames of a text, or of a block of texts one after the other. The subscribers of a
    channel are handed the same block (the same tuple) one after another in a turn, so the last
    two blocks' bytes are kept: a batch's frames are joined once, not once per connection, and
    found again by identity, not by comparing their texts."""
    if isinstance(outgoing, str):
        return text_frame(outgoing)
    for block, data in _blocks:
        if block is outgoing:
            return data
    data = b"".join(map(text_frame, outgoing))
    _blocks.append((outgoing, data))
    return data


class CoalescingWebSocketProtocol(WebSocketsSansIOProtocol):
    """Frames sent in one turn of the event loop leave in one write.

    A live session sends events in bursts (a batch of messages is a frame each to every member),
    and a system call per frame is most of what a delivery costs. Here a ``websocket.send``
    only frames the message into the connection's outgoing buffer (websockets' sans-I/O
    ``ServerProtocol``) and schedules one flush for the end of the turn. Whatever else writes —
    a pong, a close, a keepalive ping — takes the whole buffer with it, so frames never change
    order. While the transport is over its high-water mark, sends wait as uvicorn's do.

    The app may also hand over many texts at once, synchronously, through the ``SEND_TEXTS``
    scope extension: ``send(texts)`` writes them all (with whatever else is buffered) and
    returns True, or returns False when the connection cannot take them now (closing, closed,
    or over its high-water mark), and the app then sends through ASGI, which waits or raises as
    usual. Live sessions hand over what a turn queued for them at once (``HandOvers``), so
    their frames need not wait for the end of the turn to be written together. Without
    compression the frame of a text is built once however many connections it goes to
    (``text_frame``), and so are the bytes of a block of texts that members are handed
    together (``text_frames``).
    """

    _flush_scheduled = False

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        if self.response.status_code == 101:  # the app's task starts later, with this scope
            self.scope["extensions"][SEND_TEXTS] = {"send": self.send_texts}

    def _can_send_now(self) -> bool:
        return (
            self.handshake_complete
            and not self.close_sent
            and self.initial_response is None
            and not self.disconnected
            and self.writable.is_set()
            and self.conn.state is State.OPEN
        )

    def send_texts(self, texts: Iterable[Outgoing]) -> bool:
        if not self._can_send_now():
            return False
        if self.conn.extensions:  # compressed: each frame is websockets' to make
            for outgoing in texts:
                for text in texts_of(outgoing):
                    self.conn.send_text(text.encode())
        else:
            self.conn.writes.extend(map(text_frames, texts))
        self._flush()
        return True

    async def send(self, message: ASGISendEvent) -> None:
        if message["type"] != "websocket.send" or not self._can_send_now():
            await super().send(message)
            return
        data, text = message.get("bytes"), message.get("text")
        if data is not None:
            self.conn.send_binary(data)
        elif text is not None:
            self.conn.send_text(text.encode())
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        output = self.conn.data_to_send()
        if output and not self.transport.is_closing():
            self.transport.write(b"".join(output))
