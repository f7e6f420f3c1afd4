"""Checks shared by every resource: parameter types, names, JSON attributes, URLs, SIDs.

Each check returns the clean value or raises ``InvalidParameterError`` naming the parameter
(PascalCase, as the client sent it). Values arrive as the strings a form carries.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import urlsplit

from backchannel.chat.errors import InvalidParameterError
from backchannel.tokens import sids

MAX_ATTRIBUTES_BYTES = 16 * 1024
MAX_FRIENDLY_NAME = 256
MAX_IDENTITY = 256
MAX_URL = 2048
MIN_YEAR = 1970
_TRUE = frozenset({"true", "True", "TRUE", "1"})
_FALSE = frozenset({"false", "False", "FALSE", "0"})


def _not_json(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")


JSON = json.JSONDecoder(parse_constant=_not_json)
"""JSON as RFC 8259 has it. ``json.loads`` also reads NaN, Infinity and -Infinity, which other
parsers (a browser's ``JSON.parse``) refuse: text holding them would reach other clients."""


def parse_bool(name: str, value: str) -> bool:
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise InvalidParameterError(f"{name} must be true or false")


def parse_int(name: str, value: str, *, minimum: int = 0, maximum: int = 2**31 - 1) -> int:
    text = value.strip()
    if not text.lstrip("-").isdigit() or len(text) > 12:
        raise InvalidParameterError(f"{name} must be a whole number")
    number = int(text)
    if not minimum <= number <= maximum:
        raise InvalidParameterError(f"{name} must be between {minimum} and {maximum}")
    return number


def text_param(
    name: str, value: str, *, max_length: int = MAX_FRIENDLY_NAME, allow_empty: bool = True
) -> str:
    if "\x00" in value:
        raise InvalidParameterError(f"{name} must not contain NUL characters")
    if len(value) > max_length:
        raise InvalidParameterError(f"{name} must be at most {max_length} characters")
    if not allow_empty and not value.strip():
        raise InvalidParameterError(f"{name} must not be empty")
    return value


def friendly_name(value: str, *, name: str = "FriendlyName", required: bool = False) -> str:
    return text_param(name, value, allow_empty=not required)


def attributes(value: str, *, name: str = "Attributes") -> str:
    """A JSON object, as text of at most 16 KiB; kept as sent."""
    attributes_size(value, name=name)
    try:
        parsed = JSON.decode(value)
    except (ValueError, RecursionError):
        raise InvalidParameterError(f"{name} must be valid JSON") from None
    if not isinstance(parsed, dict):
        raise InvalidParameterError(f"{name} must be a JSON object")
    return value


def attributes_size(value: str, *, name: str = "Attributes") -> str:
    """``attributes`` for text known to be a JSON object (encoded from one): only its size."""
    if len(value.encode("utf-8", "surrogatepass")) > MAX_ATTRIBUTES_BYTES:
        raise InvalidParameterError(f"{name} must be at most {MAX_ATTRIBUTES_BYTES} bytes")
    return value


def url(name: str, value: str) -> str | None:
    """An absolute http(s) URL; the empty string clears the setting (None)."""
    if value == "":
        return None
    if len(value) > MAX_URL:
        raise InvalidParameterError(f"{name} must be at most {MAX_URL} characters")
    try:
        parts = urlsplit(value)
    except ValueError:
        raise InvalidParameterError(f"{name} must be an absolute http or https URL") from None
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in value):
        raise InvalidParameterError(f"{name} must be an absolute http or https URL")
    return value


def timestamp(name: str, value: str) -> datetime:
    """An ISO 8601 date-time, as naive UTC in whole seconds (how the store keeps dates).

    Without an offset the value is taken as UTC; ``Z`` and ``±hh:mm`` offsets are converted.
    Years before 1970 are refused: no chat resource predates the epoch, and four-digit years
    are what Twilio's date format (and every client parsing it) expects.
    """
    text = value.strip()
    if not text or len(text) > 64:
        raise InvalidParameterError(f"{name} must be an ISO 8601 date-time")
    try:
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise InvalidParameterError(f"{name} must be an ISO 8601 date-time") from None
    if parsed.year < MIN_YEAR:
        raise InvalidParameterError(f"{name} must not be before {MIN_YEAR}")
    return parsed.replace(microsecond=0)


def sid(name: str, value: str, prefix: str) -> str:
    if not sids.is_sid(value, prefix):
        raise InvalidParameterError(f"{name} must be a {prefix} SID")
    return value
