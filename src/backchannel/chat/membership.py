"""Membership rules: who may be a member (or be invited), with which role, and the limits.

A member is an identity in a channel with a channel-scope role; its User exists (it is created
with the service's default service role when it does not). ``new_member`` and
``member_changes`` check every parameter before returning anything, so a rejected request
changes nothing. The counters these rules guard (``channels.members_count``,
``users.joined_channels_count``) are kept by the store, atomically, in the same transaction as
the member row.

The limits are the service's ``limits``: ``channel_members`` per channel (Twilio 50403 when
reached) and ``user_channels`` per user (Twilio 50208).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from backchannel.chat import validation as v
from backchannel.chat.errors import InvalidParameterError
from backchannel.chat.permissions import CHANNEL
from backchannel.chat.sids import MEMBER, ROLE, is_sid

Params = Mapping[str, Sequence[str]]

MAX_MESSAGE_INDEX = 2**31 - 1


def _last(params: Params, name: str) -> str | None:
    values = params.get(name)
    return values[-1] if values else None


def identity(value: str, *, name: str = "Identity") -> str:
    """An identity: 1..256 characters, case-sensitive, kept exactly as sent."""
    return v.text_param(name, value, max_length=v.MAX_IDENTITY, allow_empty=False)


def identities(values: Sequence[str], *, name: str = "Identity") -> list[str]:
    """The identities a list is filtered by (repeated parameter), de-duplicated in order."""
    return list(dict.fromkeys(identity(value, name=name) for value in values))


def is_member_key(value: str) -> bool:
    """Whether a path segment could name a member: its SID, or an identity of legal shape."""
    return is_sid(value, MEMBER) or (0 < len(value) <= v.MAX_IDENTITY and "\x00" not in value)


def role_sid(value: str, *, name: str = "RoleSid") -> str:
    return v.sid(name, value, ROLE)


def require_channel_role(role: Mapping[str, Any] | None, *, name: str = "RoleSid") -> None:
    """A member's (or invitee's) role must be a channel-scope role of the service."""
    if role is None or role["type"] != CHANNEL:
        raise InvalidParameterError(f"{name} must name a channel role of this service")


def channel_members_limit(service: Mapping[str, Any]) -> int:
    return int(service["limits"]["channel_members"])


def user_channels_limit(service: Mapping[str, Any]) -> int:
    return int(service["limits"]["user_channels"])


def _consumed_index(value: str) -> int | None:
    """``LastConsumedMessageIndex``: a message index, or the empty string for none."""
    if value == "":
        return None
    return v.parse_int("LastConsumedMessageIndex", value, maximum=MAX_MESSAGE_INDEX)


def member_changes(params: Params, now: datetime) -> dict[str, Any]:
    """The member columns an update (or a create) sets; ``role_sid`` still needs checking.

    Reporting a consumed index without a timestamp stamps the consumption with ``now``.
    """
    result: dict[str, Any] = {}
    if (value := _last(params, "RoleSid")) is not None:
        result["role_sid"] = role_sid(value)
    if (value := _last(params, "LastConsumedMessageIndex")) is not None:
        result["last_consumed_message_index"] = _consumed_index(value)
        result["last_consumption_timestamp"] = now
    if (value := _last(params, "LastConsumptionTimestamp")) is not None:
        result["last_consumption_timestamp"] = v.timestamp("LastConsumptionTimestamp", value)
    if (value := _last(params, "Attributes")) is not None:
        result["attributes"] = v.attributes(value)
    for param, column in (("DateCreated", "date_created"), ("DateUpdated", "date_updated")):
        if (value := _last(params, param)) is not None:
            result[column] = v.timestamp(param, value)
    return result


def new_member(params: Params, now: datetime) -> dict[str, Any]:
    """The columns of a new member from a create's parameters (``Identity`` is required).

    ``role_sid`` is None when the caller should use the service's default channel role.
    """
    value = _last(params, "Identity")
    if value is None:
        raise InvalidParameterError("Missing required parameter Identity in the post body")
    values = member_changes(params, now)
    if "last_consumed_message_index" not in values:
        values.setdefault("last_consumption_timestamp", None)
    date_created = values.get("date_created", now)
    return {
        "identity": identity(value),
        "role_sid": None,
        "last_consumed_message_index": None,
        "attributes": "{}",
        **values,
        "date_created": date_created,
        "date_updated": values.get("date_updated", date_created),
    }


def new_invite(params: Params) -> dict[str, Any]:
    """An invite's identity and role (None: the service's default channel role)."""
    value = _last(params, "Identity")
    if value is None:
        raise InvalidParameterError("Missing required parameter Identity in the post body")
    role = _last(params, "RoleSid")
    return {"identity": identity(value), "role_sid": None if role is None else role_sid(role)}
