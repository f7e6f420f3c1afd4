"""Channel rules: the two types, unique names, and how create/update parameters become columns.

``creation`` and ``changes`` check every parameter before returning anything, so a rejected
request changes nothing. Unique names are the caller's second way to address a channel in a
URL, so one that looks like a Channel SID (which would always be read as the SID) is refused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from backchannel.chat import validation as v
from backchannel.chat.errors import InvalidParameterError
from backchannel.chat.sids import CHANNEL, is_sid

PUBLIC = "public"
PRIVATE = "private"
CHANNEL_TYPES = (PUBLIC, PRIVATE)
DEFAULT_CREATED_BY = "system"
# The spec gives 64 characters on create and 256 on update; one limit (the larger) for both
# keeps a name that Twilio accepted on either path acceptable here.
MAX_NAME = 256

Params = Mapping[str, Sequence[str]]


def channel_type(value: str, *, name: str = "Type") -> str:
    if value not in CHANNEL_TYPES:
        raise InvalidParameterError(f"{name} must be 'public' or 'private'")
    return value


def unique_name(value: str) -> str | None:
    """The unique name; the empty string means none (it clears the name on update)."""
    v.text_param("UniqueName", value, max_length=MAX_NAME)
    if value == "":
        return None
    if is_sid(value, CHANNEL):
        raise InvalidParameterError("UniqueName must not be a Channel SID")
    return value


def _last(params: Params, name: str) -> str | None:
    values = params.get(name)
    return values[-1] if values else None


def changes(params: Params) -> dict[str, Any]:
    """The columns an update (or a create) sets, from the parameters that were sent."""
    result: dict[str, Any] = {}
    if (value := _last(params, "FriendlyName")) is not None:
        result["friendly_name"] = v.text_param("FriendlyName", value, max_length=MAX_NAME)
    if (value := _last(params, "UniqueName")) is not None:
        result["unique_name"] = unique_name(value)
    if (value := _last(params, "Attributes")) is not None:
        result["attributes"] = v.attributes(value)
    if (value := _last(params, "CreatedBy")) is not None:
        result["created_by"] = v.text_param(
            "CreatedBy", value, max_length=v.MAX_IDENTITY, allow_empty=False
        )
    for param, column in (("DateCreated", "date_created"), ("DateUpdated", "date_updated")):
        if (value := _last(params, param)) is not None:
            result[column] = v.timestamp(param, value)
    return result


def creation(params: Params, now: datetime) -> dict[str, Any]:
    """The columns of a new channel: defaults, overridden by what was sent."""
    values = changes(params)
    kind = _last(params, "Type")
    date_created = values.get("date_created", now)
    return {
        "friendly_name": None,
        "unique_name": None,
        "attributes": "{}",
        "created_by": DEFAULT_CREATED_BY,
        **values,
        "type": PUBLIC if kind is None else channel_type(kind),
        "date_created": date_created,
        # Twilio leaves date_updated unset unless given; the column holds the creation date.
        "date_updated": values.get("date_updated", date_created),
    }
