"""The WebSocket protocol ``backchannel serve`` runs: a turn's frames leave in one write, in order;
texts handed over at once are written at once. And the server's garbage-collector settings.

The protocol object is driven as uvicorn drives it (``connection_made``, ``data_received``) with
a transport that records each write, and a sans-I/O websockets client reads what was written.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any

from uvicorn.server import ServerState
from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

from backchannel.api.serving import (
    YOUNG_COLLECTION,
    CoalescingWebSocketProtocol,
    Server,
    text_frames,
    uvicorn_config,
)
from backchannel.realtime.protocol import SEND_TEXTS, Outgoing, texts_of


class RecordingTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8080), "peername": ("127.0.0.1", 50000)}.get(
            name, default
        )


async def connect(
    app: Any, *, compress: bool = False
) -> tuple[CoalescingWebSocketProtocol, RecordingTransport, ClientProtocol]:
    """A protocol serving ``app`` with the handshake done; the client has read the 101.

    With ``compress`` the client offers permessage-deflate, as browsers do."""
    config = uvicorn_config(app, log_level="warning")
    config.load()
    protocol = CoalescingWebSocketProtocol(
        config, ServerState(), {}, _loop=asyncio.get_running_loop()
    )
    transport = RecordingTransport()
    protocol.connection_made(transport)
    extensions = [ClientPerMessageDeflateFactory()] if compress else None
    client = ClientProtocol(parse_uri("ws://127.0.0.1:8080/ws"), extensions=extensions)
    client.send_request(client.connect())
    protocol.data_received(b"".join(client.data_to_send()))
    for _ in range(10):
        await asyncio.sleep(0)
    handshake = transport.writes.pop(0)
    client.receive_data(handshake)
    (response,) = client.events_received()
    assert isinstance(response, Response) and response.status_code == 101
    return protocol, transport, client


def frames(client: ClientProtocol, data: list[bytes]) -> list[Frame]:
    client.receive_data(b"".join(data))
    received = client.events_received()
    assert all(isinstance(frame, Frame) for frame in received)
    return received  # type: ignore[return-value]


def test_frames_sent_in_one_turn_leave_in_one_write_in_order() -> None:
    asyncio.run(_frames_sent_in_one_turn_leave_in_one_write_in_order())


async def _frames_sent_in_one_turn_leave_in_one_write_in_order() -> None:
    sent = asyncio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        await receive()  # the client's first message
        for n in range(5):
            await send({"type": "websocket.send", "text": f"event {n}"})
        sent.set()
        await receive()  # disconnect

    protocol, transport, client = await connect(app)
    client.send_text(b"go")
    protocol.data_received(b"".join(client.data_to_send()))
    await asyncio.wait_for(sent.wait(), 1)
    await asyncio.sleep(0)  # the flush runs at the end of the turn
    assert len(transport.writes) == 1, "five frames, one write"
    texts = [frame.data.decode() for frame in frames(client, transport.writes)]
    assert texts == [f"event {n}" for n in range(5)]
    protocol.connection_lost(None)


def test_a_close_sent_after_frames_follows_them() -> None:
    asyncio.run(_a_close_sent_after_frames_follows_them())


async def _a_close_sent_after_frames_follows_them() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": "last words"})
        await send({"type": "websocket.send", "bytes": b"\x00binary"})
        await send({"type": "websocket.close", "code": 4000, "reason": "restart"})

    protocol, transport, client = await connect(app)
    for _ in range(10):
        await asyncio.sleep(0)
    received = frames(client, transport.writes)
    assert [frame.opcode for frame in received] == [Opcode.TEXT, Opcode.BINARY, Opcode.CLOSE]
    assert received[0].data == b"last words" and received[1].data == b"\x00binary"
    assert client.close_rcvd is not None and client.close_rcvd.code == 4000
    protocol.connection_lost(None)


def test_sends_wait_while_the_transport_is_over_its_high_water_mark() -> None:
    asyncio.run(_sends_wait_while_the_transport_is_over_its_high_water_mark())


async def _sends_wait_while_the_transport_is_over_its_high_water_mark() -> None:
    sent = asyncio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await receive()
        await send({"type": "websocket.send", "text": "after the pause"})
        sent.set()
        await receive()

    protocol, transport, client = await connect(app)
    protocol.pause_writing()  # what the transport calls when its buffer is full
    client.send_text(b"go")
    protocol.data_received(b"".join(client.data_to_send()))
    for _ in range(10):
        await asyncio.sleep(0)
    assert not sent.is_set() and transport.writes == []
    protocol.resume_writing()
    await asyncio.wait_for(sent.wait(), 1)
    assert [frame.data for frame in frames(client, transport.writes)] == [b"after the pause"]
    protocol.connection_lost(None)


def test_texts_handed_over_are_written_at_once_in_order_with_the_asgi_sends() -> None:
    asyncio.run(_texts_handed_over_are_written_at_once_in_order_with_the_asgi_sends())


async def _texts_handed_over_are_written_at_once_in_order_with_the_asgi_sends() -> None:
    taken: list[bool] = []
    written: list[int] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        send_texts = scope["extensions"][SEND_TEXTS]["send"]
        await receive()
        await send({"type": "websocket.accept"})
        await receive()
        await send({"type": "websocket.send", "text": "one"})
        taken.append(send_texts(["two", ("é" * 100, "x" * 70_000)]))  # a text, then a block
        written.append(len(transport.writes))  # at once, with "one" buffered before them
        await send({"type": "websocket.send", "text": "four"})
        await receive()

    for compress in (False, True):
        taken.clear()
        written.clear()
        protocol, transport, client = await connect(app, compress=compress)
        assert bool(client.extensions) is compress
        client.send_text(b"go")
        protocol.data_received(b"".join(client.data_to_send()))
        for _ in range(10):
            await asyncio.sleep(0)
        assert taken == [True]
        assert written == [1] and len(transport.writes) == 2  # "four" at the end of the turn
        texts = [frame.data.decode() for frame in frames(client, transport.writes)]
        assert texts == ["one", "two", "é" * 100, "x" * 70_000, "four"]
        protocol.connection_lost(None)


def scope_keeping_app() -> tuple[list[Any], Any]:
    """An app that keeps each connection's scope, accepts it and waits for one more message."""
    scopes: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        scopes.append(scope)
        await receive()
        await send({"type": "websocket.accept"})
        await receive()

    return scopes, app


def test_connections_handed_texts_in_turn_each_get_exactly_their_own() -> None:
    asyncio.run(_connections_handed_texts_in_turn_each_get_exactly_their_own())


async def _connections_handed_texts_in_turn_each_get_exactly_their_own() -> None:
    """Members handed the same block of texts share its bytes; one handed others with it (the
    sender, with its replies), an equal block that is another tuple, or part of it, gets
    exactly what it was handed."""
    scopes, app = scope_keeping_app()
    connections = [await connect(app) for _ in range(5)]
    block = tuple(f'{{"event":"messageAdded","data":{{"index":{n}}}}}' for n in range(3))
    handed: list[list[Outgoing]] = [
        [block],
        [block, '{"id":7,"ok":true}'],
        [tuple(list(block))],  # equal, but another tuple
        [block[:2]],
        [*block],
    ]
    for scope, outgoing in zip(scopes, handed, strict=True):
        assert scope["extensions"][SEND_TEXTS]["send"](outgoing) is True
    for (protocol, transport, client), outgoing in zip(connections, handed, strict=True):
        texts = [text for item in outgoing for text in texts_of(item)]
        assert [frame.data.decode() for frame in frames(client, transport.writes)] == texts
        protocol.connection_lost(None)


def test_a_blocks_frames_are_made_once_and_found_again_by_identity() -> None:
    block = ("a", "b" * 200, "c" * 70_000)
    data = text_frames(block)
    assert text_frames(block) is data  # the same tuple: the bytes already made
    again = tuple(list(block))
    assert again is not block and text_frames(again) == data  # an equal one: the same bytes
    assert data == b"".join(text_frames(text) for text in block)


def test_texts_are_refused_while_the_connection_cannot_take_them() -> None:
    asyncio.run(_texts_are_refused_while_the_connection_cannot_take_them())


async def _texts_are_refused_while_the_connection_cannot_take_them() -> None:
    scopes, app = scope_keeping_app()
    protocol, transport, client = await connect(app)
    send_texts = scopes[0]["extensions"][SEND_TEXTS]["send"]
    protocol.pause_writing()
    assert send_texts(["over the high-water mark"]) is False
    protocol.resume_writing()
    assert send_texts(["fine"]) is True
    await asyncio.sleep(0)
    assert [frame.data for frame in frames(client, transport.writes)] == [b"fine"]
    protocol.connection_lost(None)
    assert send_texts(["gone"]) is False


def test_a_server_started_with_tune_gc_keeps_the_collector_out_of_a_busy_loop() -> None:
    asyncio.run(_server_started_with_tune_gc())


async def _server_started_with_tune_gc() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("no request is made")

    threshold = gc.get_threshold()
    try:
        for tune_gc in (False, True):
            gc.unfreeze()
            config = uvicorn_config(app, host="127.0.0.1", port=0, lifespan="off")
            server = Server(config, tune_gc=tune_gc)
            serving = asyncio.create_task(server.serve())
            try:
                while not server.started:
                    await asyncio.sleep(0.01)
                if tune_gc:
                    # What the app made at startup is frozen; the youngest generation waits for
                    # far more allocations than Python's default; the older ones are as they were.
                    assert gc.get_freeze_count() > 0
                    assert gc.get_threshold() == (YOUNG_COLLECTION, *threshold[1:])
                    assert threshold[0] < YOUNG_COLLECTION
                else:
                    assert gc.get_freeze_count() == 0
                    assert gc.get_threshold() == threshold
            finally:
                server.should_exit = True
                await asyncio.wait_for(serving, 10)
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
