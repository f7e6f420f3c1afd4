"""The objects of the client protocol, built from stored rows (docs/protocol.md, "Objects").

Unlike the REST API, attributes travel as JSON objects, not as strings.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime
from typing import Any

from backchannel.realtime import protocol


@functools.lru_cache(maxsize=256)
def _date(value: datetime | None) -> str | None:
    """``2026-11-27T23:33:12Z`` (stored dates are naive UTC); cached, as the messages of a batch
    share theirs."""
    return None if value is None else value.isoformat(timespec="seconds") + "Z"


def _attributes(text: str | None) -> Any:
    return json.loads(text) if text else {}


def user(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "sid": row["sid"],
        "identity": row["identity"],
        "friendly_name": row["friendly_name"],
        "attributes": _attributes(row["attributes"]),
        "role_sid": row["role_sid"],
        "is_online": row["is_online"],
        "is_notifiable": row["is_notifiable"],
    }


def service(row: dict[str, Any]) -> dict[str, Any]:
    limits = row["limits"]
    return {
        "sid": row["sid"],
        "friendly_name": row["friendly_name"],
        "reachability_enabled": row["reachability_enabled"],
        "read_status_enabled": row["read_status_enabled"],
        "typing_indicator_timeout": row["typing_indicator_timeout"],
        "consumption_report_interval": row["consumption_report_interval"],
        "limits": {
            "channel_members": limits.get("channel_members"),
            "user_channels": limits.get("user_channels"),
        },
    }


def channel(
    row: dict[str, Any], *, status: str | None = None, last_consumed: int | None = None
) -> dict[str, Any]:
    return {
        "sid": row["sid"],
        "unique_name": row["unique_name"],
        "friendly_name": row["friendly_name"],
        "type": row["type"],
        "attributes": _attributes(row["attributes"]),
        "created_by": row["created_by"],
        "members_count": row["members_count"],
        "messages_count": row["messages_count"],
        "date_created": _date(row["date_created"]),
        "date_updated": _date(row["date_updated"]),
        "status": status,
        "last_consumed_message_index": last_consumed,
    }


def member(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "sid": row["sid"],
        "channel_sid": row["channel_sid"],
        "identity": row["identity"],
        "role_sid": row["role_sid"],
        "attributes": _attributes(row["attributes"]),
        "last_consumed_message_index": row["last_consumed_message_index"],
        "last_consumption_timestamp": _date(row["last_consumption_timestamp"]),
        "date_created": _date(row["date_created"]),
        "date_updated": _date(row["date_updated"]),
    }


def message(row: dict[str, Any]) -> dict[str, Any]:
    fields = _message_fields(row)
    fields["attributes"] = _attributes(row["attributes"])
    return fields


def encoded_message(row: dict[str, Any]) -> str:
    """``message(row)`` as protocol text, for a row whose attributes text is already compact
    JSON (a live send's: ``commands.attributes_arg``), which goes in as it is rather than
    parsed and encoded again."""
    head = protocol.encode(_message_fields(row))
    return f'{head[:-1]},"attributes":{row["attributes"]}}}'


def _message_fields(row: dict[str, Any]) -> dict[str, Any]:
    """A message but its attributes."""
    return {
        "sid": row["sid"],
        "index": row["index"],
        "channel_sid": row["channel_sid"],
        "author": row["from"],
        "body": row["body"],
        "was_edited": row["was_edited"],
        "last_updated_by": row["last_updated_by"],
        "date_created": _date(row["date_created"]),
        "date_updated": _date(row["date_updated"]),
    }


def invite(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "sid": row["sid"],
        "channel_sid": row["channel_sid"],
        "identity": row["identity"],
        "created_by": row["created_by"],
        "date_created": _date(row["date_created"]),
    }
