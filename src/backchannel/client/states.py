"""The connection's states, the moves allowed between them, and where each close code leads.

    disconnected ──▶ connecting ──▶ connected
         ▲              │  ▲            │
         │              ▼  └────────────┤   dropped, "reconnect" or "renew" close: back to
         └─────── (stop) ◀──────────────┘   connecting, with backoff
    denied ◀──── a "terminal" close (4200-4299), from connecting or connected

Close codes (docs/protocol.md, "Close codes"): 1000 stop; 1001, 4000-4099 and a dropped socket
reconnect with the same token; 4100-4199 renew the token, then reconnect; 4200-4299 stop for good.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

__all__ = ["ConnectionState", "ConnectionStateError", "check_transition", "close_kind"]

CloseKind = Literal["normal", "reconnect", "renew", "terminal"]


class ConnectionState(StrEnum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    DENIED = "denied"


_ALLOWED: dict[ConnectionState, frozenset[ConnectionState]] = {
    ConnectionState.DISCONNECTED: frozenset({ConnectionState.CONNECTING}),
    ConnectionState.CONNECTING: frozenset(
        {ConnectionState.CONNECTED, ConnectionState.DISCONNECTED, ConnectionState.DENIED}
    ),
    ConnectionState.CONNECTED: frozenset(
        {ConnectionState.CONNECTING, ConnectionState.DISCONNECTED, ConnectionState.DENIED}
    ),
    # A new token (``update_token``) may get a denied client going again.
    ConnectionState.DENIED: frozenset({ConnectionState.CONNECTING}),
}


class ConnectionStateError(RuntimeError):
    """A state change the state machine does not allow: a bug in the SDK, never the network."""


def check_transition(current: ConnectionState, new: ConnectionState) -> None:
    """Raise ``ConnectionStateError`` unless ``current`` may move to ``new``."""
    if new not in _ALLOWED[current]:
        raise ConnectionStateError(f"cannot go from {current.value} to {new.value}")


def close_kind(code: int) -> CloseKind:
    """What a close code asks the client to do."""
    if code == 1000:
        return "normal"
    if 4100 <= code <= 4199:
        return "renew"
    if 4200 <= code <= 4299:
        return "terminal"
    return "reconnect"  # 1001, 4000-4099, and whatever else drops us: try again
