"""The wire protocol of live sessions (``docs/protocol.md``): frames and close codes.

Close codes fall in three ranges, so a client knows what to do without knowing every code:
4000-4099 reconnect, 4100-4199 renew the token and reconnect, 4200-4299 terminal.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, TypeAlias

from backchannel.chat.validation import JSON
from backchannel.errors import BackchannelError
from backchannel.tokens import TokenError, codec

MAX_FRAME_BYTES = 64 * 1024
MAX_REQUEST_ID = 2**53
SEND_TEXTS = "backchannel.websocket.send_texts"
"""An ASGI scope extension of ``backchannel serve`` (``api.serving``): many text frames handed
over at once, without an ASGI message each: ``scope["extensions"][SEND_TEXTS]["send"](texts)``
returns True when it took them all, False when the app must send through ASGI instead. Each of
``texts`` is a text, or a block of texts (a tuple) that other connections are handed too: the
same tuple object, whose frames are then made once for all of them."""

Outgoing: TypeAlias = str | tuple[str, ...]  # a text frame, or a block of them (``SEND_TEXTS``)


def texts_of(outgoing: Outgoing) -> tuple[str, ...]:
    return (outgoing,) if isinstance(outgoing, str) else outgoing


class Close(IntEnum):
    NORMAL = 1000
    GOING_AWAY = 1001
    SERVER_RESTART = 4000
    TOO_SLOW = 4001
    AUTH_TIMEOUT = 4008
    FLOOD = 4029
    TOKEN_EXPIRED = 4104
    TOKEN_NOT_YET_VALID = 4105
    TOKEN_MALFORMED = 4201
    TOKEN_HEADER = 4202
    TOKEN_ISSUER = 4203
    TOKEN_GRANTS = 4206
    TOKEN_SIGNATURE = 4207
    TOKEN_LIFETIME = 4257
    USER_DELETED = 4210
    SERVICE_DELETED = 4211
    PROTOCOL_ERROR = 4212


def close_code_for_token_error(error: TokenError) -> int:
    """20104 → 4104 and 20105 → 4105 (renew); every other token code 201xx → 42xx (terminal)."""
    offset = error.code - 20100
    if error.code in (20104, 20105):
        return 4100 + offset
    if 0 < offset < 100:
        return 4200 + offset
    return Close.TOKEN_MALFORMED


def close_reason(code: int, message: str) -> str:
    """The JSON close reason, cut to fit the 123 bytes a close frame allows."""
    for limit in (len(message), 80, 40, 0):
        reason = json.dumps({"code": code, "message": message[:limit]})
        if len(reason.encode()) <= 123:
            return reason
    return json.dumps({"code": code})


class ProtocolError(BackchannelError):
    """A frame the protocol does not allow: the session closes with 4212."""

    code = 20001
    status = 400


class BadRequestError(BackchannelError):
    """A well-formed frame with a malformed request: answered with an error reply (20001)."""

    code = 20001
    status = 400


@dataclass(frozen=True, slots=True)
class Request:
    id: int | None
    cmd: str
    args: dict[str, Any]


def parse_request(text: str) -> Request:
    """A request frame, or ``ProtocolError`` for anything that is not one."""
    if len(text) > MAX_FRAME_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_FRAME_BYTES:
        raise ProtocolError(f"a frame is at most {MAX_FRAME_BYTES} bytes")
    try:
        frame = JSON.decode(text)
    except (ValueError, RecursionError):
        raise ProtocolError("a frame must be a JSON object") from None
    if not isinstance(frame, dict):
        raise ProtocolError("a frame must be a JSON object")
    request_id = frame.get("id")
    if request_id is not None and (
        type(request_id) is not int or not 0 < request_id < MAX_REQUEST_ID
    ):
        raise ProtocolError("a request id must be a positive integer")
    cmd = frame.get("cmd")
    if not isinstance(cmd, str):
        raise ProtocolError("a request needs a cmd string")
    args = frame.get("args", {})
    if not isinstance(args, dict):
        raise ProtocolError("args must be a JSON object")
    return Request(request_id, cmd, args)


def encode(value: Any) -> str:
    """Compact JSON, as every frame is written (the C encoder made once, as tokens are)."""
    return codec.dumps(value)


def _request_id(request_id: int | None) -> str:
    return str(request_id) if type(request_id) is int else encode(request_id)


@functools.cache
def _event_name(name: str) -> str:
    return encode(name)


def reply(request_id: int | None, result: Any) -> str:
    return encode({"id": request_id, "ok": True, "result": result})


def reply_encoded(request_id: int | None, result: str) -> str:
    """``reply`` for a result already encoded (``encode``): the same text, built around it."""
    return f'{{"id":{_request_id(request_id)},"ok":true,"result":{result}}}'


def error_reply(request_id: int | None, error: BackchannelError) -> str:
    body = {"code": error.code, "status": error.status, "message": error.message}
    return encode({"id": request_id, "ok": False, "error": body})


def event(name: str, data: Any) -> str:
    return encode({"event": name, "data": data})


def event_encoded(name: str, data: str) -> str:
    """``event`` for data already encoded (``encode``): the same text, built around it."""
    return f'{{"event":{_event_name(name)},"data":{data}}}'
