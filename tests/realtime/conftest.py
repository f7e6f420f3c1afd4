"""Raw protocol clients for the live-session tests: a service, tokens, frames, close codes."""

from __future__ import annotations

import asyncio
import json
import weakref
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from conftest import ChatService  # tests/conftest.py


@pytest.fixture
def live(chat: ChatService) -> ChatService:
    return chat


async def send(ws: ClientConnection, frame: dict[str, Any]) -> None:
    await ws.send(json.dumps(frame))


# Frames that arrived while a test awaited a reply, kept for its next ``receive``. Weakly keyed
# by the socket itself: keyed by ``id(ws)``, a new socket could inherit a dead one's frames.
_held: weakref.WeakKeyDictionary[ClientConnection, list[dict[str, Any]]] = (
    weakref.WeakKeyDictionary()
)


async def receive(ws: ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    held = _held.get(ws)
    if held:
        return held.pop(0)
    frame: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout))
    return frame


async def authenticate(
    live: ChatService, token: str | None = None,
) -> tuple[ClientConnection, dict]:
    ws = await connect(live.ws_url)
    await send(ws, {"cmd": "authenticate", "args": {"token": token or live.token()}})
    ready = await receive(ws)
    assert ready["event"] == "ready", ready
    return ws, ready["data"]


async def closed_with(ws: ClientConnection, timeout: float = 5.0) -> tuple[int, dict[str, Any]]:
    """Read until the server closes; the close code and the parsed reason."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                await ws.recv()
    except ConnectionClosed as closed:
        assert closed.rcvd is not None, "the server closed without a close frame"
        reason = json.loads(closed.rcvd.reason) if closed.rcvd.reason else {}
        return closed.rcvd.code, reason
    raise AssertionError("unreachable")


async def request(ws: ClientConnection, cmd: str, request_id: int = 1, **args: Any) -> dict:
    await send(ws, {"id": request_id, "cmd": cmd, "args": args})
    while True:
        frame: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 5.0))
        if frame.get("id") == request_id:
            return frame
        _held.setdefault(ws, []).append(frame)
