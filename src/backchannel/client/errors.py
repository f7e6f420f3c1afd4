"""The errors the client SDK raises.

    BackchannelError
    └── ChatError                  an error reply from the server: ``code`` (Twilio), ``status``
        ├── ConnectionLostError    code 0: the socket dropped (or was never up) before a reply
        └── SessionClosedError     the server closed the session (``close_code``, Twilio ``code``
                                   from the close reason), e.g. a refused token on connect

Every one carries ``code``, ``status`` and ``message``; ``ChatClient.create`` raises
``SessionClosedError`` when the server refuses the token, with the Twilio code (20104 expired,
20107 bad signature, …).
"""

from __future__ import annotations

import json

from backchannel.errors import BackchannelError

__all__ = ["ChatError", "ConnectionLostError", "SessionClosedError"]


class ChatError(BackchannelError):
    """A request the server refused, or a session it would not keep."""

    code = 20001
    status = 400


class ConnectionLostError(ChatError):
    """No reply will come: the connection dropped, is down, or the client was shut down."""

    code = 0
    status = 0

    def __init__(self, message: str = "connection lost") -> None:
        super().__init__(message)


class SessionClosedError(ChatError):
    """The server closed the session with ``close_code``; ``code`` is the Twilio code."""

    def __init__(self, close_code: int, code: int, message: str) -> None:
        super().__init__(message, code=code, status=_status_for(code))
        self.close_code = close_code

    @classmethod
    def from_close(cls, close_code: int, reason: str) -> SessionClosedError:
        """Parse the JSON close reason (``{"code": 20104, "message": …}``) of ``close_code``."""
        code, message = 0, reason or f"the server closed the session ({close_code})"
        try:
            parsed = json.loads(reason) if reason else {}
        except ValueError:
            parsed = {}
        if isinstance(parsed, dict):
            if type(parsed.get("code")) is int:
                code = parsed["code"]
            if isinstance(parsed.get("message"), str) and parsed["message"]:
                message = parsed["message"]
        return cls(close_code, code, message)


def _status_for(code: int) -> int:
    if 20100 <= code < 20200:
        return 401
    if code == 20404:
        return 404
    if code == 20429:
        return 429
    return 400 if code else 0
