"""The SID prefixes of chat resources; ``is_sid`` and ``new_sid`` come from the tokens package,
``new_ordered_sids`` (for messages) is here."""

from __future__ import annotations

import secrets
import time

from backchannel.tokens.sids import ACCOUNT, API_KEY, CREDENTIAL, ROLE, SERVICE, is_sid, new_sid

CHANNEL = "CH"
MEMBER = "MB"
MESSAGE = "IM"
USER = "US"
INVITE = "IN"
BINDING = "BS"


def new_ordered_sids(prefix: str, count: int) -> list[str]:
    """``count`` fresh SIDs whose first 12 hex digits are the time in milliseconds, then 80
    random bits each (drawn at once for all of them).

    SIDs made later sort later, so a table that keeps growing (messages) adds to the end of its
    SID index instead of writing to a random page of it for every row: on SQLite, with 200,000
    messages stored, an insert costs a third as much. Like every SID, they do not authorize:
    nothing is reachable by knowing one.
    """
    head = f"{prefix}{time.time_ns() // 1_000_000:012x}"
    randomness = secrets.token_hex(10 * count)
    return [head + randomness[20 * n : 20 * n + 20] for n in range(count)]


__all__ = [
    "ACCOUNT",
    "API_KEY",
    "BINDING",
    "CHANNEL",
    "CREDENTIAL",
    "INVITE",
    "MEMBER",
    "MESSAGE",
    "ROLE",
    "SERVICE",
    "USER",
    "is_sid",
    "new_ordered_sids",
    "new_sid",
]
