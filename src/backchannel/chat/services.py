"""Chat Service settings: their defaults, and how update parameters change them.

``new_service_settings`` gives the settings of a fresh service; ``apply_update`` turns a
service update's form parameters (``ReadStatusEnabled``, ``Notifications.NewMessage.Enabled``,
``Limits.ChannelMembers``, …) into the changed settings, checking every value first, so a
rejected request changes nothing. Default role SIDs are returned as given; the caller checks
that they name roles of the service.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from backchannel.chat import validation as v
from backchannel.chat.errors import InvalidParameterError
from backchannel.chat.sids import ROLE

MAX_LIMIT = 1000
MAX_RETRY_COUNT = 3
WEBHOOK_METHODS = ("GET", "POST")
NOTIFICATION_EVENTS = {
    "NewMessage": "new_message",
    "AddedToChannel": "added_to_channel",
    "RemovedFromChannel": "removed_from_channel",
    "InvitedToChannel": "invited_to_channel",
}
ROLE_SETTINGS = {
    "DefaultServiceRoleSid": "default_service_role_sid",
    "DefaultChannelRoleSid": "default_channel_role_sid",
    "DefaultChannelCreatorRoleSid": "default_channel_creator_role_sid",
}


def new_service_settings() -> dict[str, Any]:
    """The settings of a new service, as the values of its row (JSON parts as Python objects)."""
    return {
        "read_status_enabled": True,
        "reachability_enabled": False,
        "typing_indicator_timeout": 5,
        "consumption_report_interval": 10,
        "limits": {"channel_members": 250, "user_channels": 100},
        "notifications": {
            "log_enabled": False,
            **{key: {"enabled": False} for key in NOTIFICATION_EVENTS.values()},
        },
        "media": {
            "size_limit_mb": 150,
            "compatibility_message": "Media messages are not supported by your client",
        },
        "pre_webhook_url": None,
        "post_webhook_url": None,
        "webhook_method": "POST",
        "webhook_filters": [],
        "pre_webhook_retry_count": 0,
        "post_webhook_retry_count": 0,
    }


def _limit(name: str, value: str) -> int:
    return v.parse_int(name, value, minimum=1, maximum=MAX_LIMIT)


def _retries(name: str, value: str) -> int:
    return v.parse_int(name, value, minimum=0, maximum=MAX_RETRY_COUNT)


def _method(name: str, value: str) -> str:
    method = value.upper()
    if method not in WEBHOOK_METHODS:
        raise InvalidParameterError(f"{name} must be GET or POST")
    return method


def _seconds(name: str, value: str) -> int:
    return v.parse_int(name, value, minimum=0, maximum=86_400)


# A setter stores a parsed value in the settings and returns the column it changed.
_Setter = Callable[[dict[str, Any], str, str], str]
_JSON_COLUMNS = ("limits", "notifications", "media")


def _column(column: str, parse: Callable[[str, str], Any]) -> _Setter:
    def setter(settings: dict[str, Any], name: str, value: str) -> str:
        settings[column] = parse(name, value)
        return column

    return setter


def _nested(column: str, path: Sequence[str], parse: Callable[[str, str], Any]) -> _Setter:
    def setter(settings: dict[str, Any], name: str, value: str) -> str:
        node = settings[column]
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = parse(name, value)
        return column

    return setter


def _text(name: str, value: str) -> str:
    return v.text_param(name, value, max_length=1024)


_SETTERS: dict[str, _Setter] = {
    "FriendlyName": _column("friendly_name", lambda n, x: v.friendly_name(x, name=n)),
    "ReadStatusEnabled": _column("read_status_enabled", v.parse_bool),
    "ReachabilityEnabled": _column("reachability_enabled", v.parse_bool),
    "TypingIndicatorTimeout": _column("typing_indicator_timeout", _seconds),
    "ConsumptionReportInterval": _column("consumption_report_interval", _seconds),
    "PreWebhookUrl": _column("pre_webhook_url", v.url),
    "PostWebhookUrl": _column("post_webhook_url", v.url),
    "WebhookMethod": _column("webhook_method", _method),
    "PreWebhookRetryCount": _column("pre_webhook_retry_count", _retries),
    "PostWebhookRetryCount": _column("post_webhook_retry_count", _retries),
    "Limits.ChannelMembers": _nested("limits", ["channel_members"], _limit),
    "Limits.UserChannels": _nested("limits", ["user_channels"], _limit),
    "Media.CompatibilityMessage": _nested("media", ["compatibility_message"], _text),
    "Notifications.LogEnabled": _nested("notifications", ["log_enabled"], v.parse_bool),
    **{
        name: _column(column, lambda n, x: v.sid(n, x, ROLE))
        for name, column in ROLE_SETTINGS.items()
    },
}
for _event, _key in NOTIFICATION_EVENTS.items():
    _SETTERS[f"Notifications.{_event}.Enabled"] = _nested(
        "notifications", [_key, "enabled"], v.parse_bool
    )
    _SETTERS[f"Notifications.{_event}.Template"] = _nested(
        "notifications", [_key, "template"], _text
    )
    _SETTERS[f"Notifications.{_event}.Sound"] = _nested("notifications", [_key, "sound"], _text)
_SETTERS["Notifications.NewMessage.BadgeCountEnabled"] = _nested(
    "notifications", ["new_message", "badge_count_enabled"], v.parse_bool
)

UPDATE_PARAMETERS = frozenset(_SETTERS) | {"WebhookFilters"}


def apply_update(
    current: Mapping[str, Any], params: Mapping[str, Sequence[str]]
) -> dict[str, Any]:
    """The columns an update changes, with their new values; unknown parameters are ignored.

    ``current`` holds the service's settings (JSON parts as objects); ``params`` maps each form
    parameter to its values (lists repeat the key).
    """
    settings = {key: copy.deepcopy(current[key]) for key in _JSON_COLUMNS}
    changed: set[str] = set()
    for name, values in params.items():
        if name == "WebhookFilters":
            filters = [v.text_param(name, value, max_length=64) for value in values if value]
            if len(filters) > 64:
                raise InvalidParameterError("WebhookFilters may list at most 64 events")
            settings["webhook_filters"] = list(dict.fromkeys(filters))
            changed.add("webhook_filters")
        elif (setter := _SETTERS.get(name)) is not None:
            changed.add(setter(settings, name, values[-1]))
    return {key: settings[key] for key in changed}
