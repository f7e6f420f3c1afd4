"""Twilio SIDs: two upper-case letters naming the kind, then 32 hex digits."""

from __future__ import annotations

import re
import secrets
from typing import TypeGuard

ACCOUNT = "AC"
API_KEY = "SK"
SERVICE = "IS"
ROLE = "RL"
CREDENTIAL = "CR"

_SID = re.compile(r"[A-Z]{2}[0-9a-fA-F]{32}")


def is_sid(value: object, prefix: str) -> TypeGuard[str]:
    """True when ``value`` is a string SID of the kind ``prefix`` (``"AC"``, ``"IS"``, …)."""
    return type(value) is str and value[:2] == prefix and _SID.fullmatch(value) is not None


def new_sid(prefix: str) -> str:
    """A fresh random SID of the kind ``prefix``."""
    return prefix + secrets.token_hex(16)
