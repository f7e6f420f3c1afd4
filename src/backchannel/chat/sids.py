"""The SID prefixes of chat resources; ``is_sid`` and ``new_sid`` come from the tokens package."""

from __future__ import annotations

from backchannel.tokens.sids import ACCOUNT, API_KEY, CREDENTIAL, ROLE, SERVICE, is_sid, new_sid

CHANNEL = "CH"
MEMBER = "MB"
MESSAGE = "IM"
USER = "US"
INVITE = "IN"
BINDING = "BS"

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
    "new_sid",
]
