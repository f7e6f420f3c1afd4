"""Message rules: body and attribute limits, authorship, ordering, and what counts as an edit.

A message's ``index`` is its position in its channel: from 0, strictly increasing, never reused
(not even after a delete). The store allocates it atomically from the channel's
``next_message_index``; nothing here chooses one. ``new_message`` and ``message_changes``
check every parameter before returning anything, so a rejected request changes nothing.

Media messages are not supported: ``MediaSid`` is refused rather than ignored, so a client
never believes it sent a file it did not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from backchannel.chat import validation as v
from backchannel.chat.errors import BodyTooLongError, InvalidParameterError

Params = Mapping[str, Sequence[str]]

MAX_BODY_BYTES = 32 * 1024
DEFAULT_FROM = "system"
TEXT = "text"
ASCENDING = "asc"
DESCENDING = "desc"
ORDERS = (ASCENDING, DESCENDING)


def _last(params: Params, name: str) -> str | None:
    values = params.get(name)
    return values[-1] if values else None


def body(value: str) -> str:
    """The text of a message, at most 32 KiB of UTF-8 (Twilio 50504 beyond); may be empty."""
    if len(value.encode("utf-8", "surrogatepass")) > MAX_BODY_BYTES:
        raise BodyTooLongError(f"Body must be at most {MAX_BODY_BYTES} bytes")
    if "\x00" in value:
        raise InvalidParameterError("Body must not contain NUL characters")
    return value


def author(value: str, *, name: str = "From") -> str:
    return v.text_param(name, value, max_length=v.MAX_IDENTITY, allow_empty=False)


def order(value: str | None) -> str:
    """``Order`` of a message list: ``asc`` (the default, oldest first) or ``desc``."""
    if value is None:
        return ASCENDING
    if value not in ORDERS:
        raise InvalidParameterError("Order must be 'asc' or 'desc'")
    return value


def _fields(params: Params) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if (value := _last(params, "Body")) is not None:
        result["body"] = body(value)
    if (value := _last(params, "From")) is not None:
        result["from"] = author(value)
    if (value := _last(params, "Attributes")) is not None:
        result["attributes"] = v.attributes(value)
    if (value := _last(params, "LastUpdatedBy")) is not None:
        result["last_updated_by"] = author(value, name="LastUpdatedBy") if value else None
    for param, column in (("DateCreated", "date_created"), ("DateUpdated", "date_updated")):
        if (value := _last(params, param)) is not None:
            result[column] = v.timestamp(param, value)
    return result


def new_message(params: Params, now: datetime) -> dict[str, Any]:
    """The columns of a new message, but its SID, channel and index."""
    if params.get("MediaSid"):
        raise InvalidParameterError(
            "Media messages are not supported by this server: MediaSid cannot be used"
        )
    values = _fields(params)
    date_created = values.get("date_created", now)
    return {
        "body": "",
        "from": DEFAULT_FROM,
        "attributes": "{}",
        "last_updated_by": None,
        **values,
        "was_edited": False,
        "media": None,
        "type": TEXT,
        "date_created": date_created,
        "date_updated": values.get("date_updated", date_created),
    }


def message_changes(current: Mapping[str, Any], params: Params, now: datetime) -> dict[str, Any]:
    """The columns an update sets. A new body marks the message edited; ``date_updated`` is
    ``now`` unless ``DateUpdated`` says otherwise."""
    if params.get("MediaSid"):
        raise InvalidParameterError("MediaSid cannot be updated")
    changes = _fields(params)
    if "body" in changes and changes["body"] != current["body"]:
        changes["was_edited"] = True
    changes.setdefault("date_updated", now)
    return changes
