"""Programmable Chat's permission vocabulary and the four roles every new service starts with.

Service-scope roles (type ``deployment``) belong to users; channel-scope roles (type
``channel``) belong to members. The lists follow DESIGN.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from backchannel.chat.errors import InvalidParameterError

DEPLOYMENT = "deployment"
CHANNEL = "channel"
ROLE_TYPES = (DEPLOYMENT, CHANNEL)

SERVICE_PERMISSIONS = frozenset(
    {
        "addMember",
        "createChannel",
        "deleteAnyMessage",
        "destroyChannel",
        "editAnyMessage",
        "editAnyMessageAttributes",
        "editAnyUserInfo",
        "editChannelAttributes",
        "editChannelName",
        "editOwnUserInfo",
        "inviteMember",
        "joinChannel",
        "removeMember",
    }
)

CHANNEL_PERMISSIONS = frozenset(
    {
        "addMember",
        "deleteAnyMessage",
        "deleteOwnMessage",
        "destroyChannel",
        "editAnyMemberAttributes",
        "editAnyMessage",
        "editAnyMessageAttributes",
        "editChannelAttributes",
        "editChannelName",
        "editNotificationLevel",
        "editOwnMemberAttributes",
        "editOwnMessage",
        "editOwnMessageAttributes",
        "inviteMember",
        "leaveChannel",
        "removeMember",
        "sendMediaMessage",
        "sendMessage",
    }
)

VOCABULARY = SERVICE_PERMISSIONS | CHANNEL_PERMISSIONS


@dataclass(frozen=True, slots=True)
class DefaultRole:
    friendly_name: str
    type: str
    permissions: tuple[str, ...]


SERVICE_ADMIN = DefaultRole(
    "service admin",
    DEPLOYMENT,
    (
        "addMember",
        "createChannel",
        "deleteAnyMessage",
        "destroyChannel",
        "editAnyMessage",
        "editAnyMessageAttributes",
        "editAnyUserInfo",
        "editChannelAttributes",
        "editChannelName",
        "inviteMember",
        "joinChannel",
        "removeMember",
    ),
)
SERVICE_USER = DefaultRole(
    "service user", DEPLOYMENT, ("createChannel", "editOwnUserInfo", "joinChannel")
)
CHANNEL_ADMIN = DefaultRole(
    "channel admin",
    CHANNEL,
    (
        "addMember",
        "deleteAnyMessage",
        "deleteOwnMessage",
        "destroyChannel",
        "editAnyMessage",
        "editAnyMessageAttributes",
        "editChannelAttributes",
        "editChannelName",
        "editNotificationLevel",
        "editOwnMessage",
        "editOwnMessageAttributes",
        "inviteMember",
        "leaveChannel",
        "removeMember",
        "sendMediaMessage",
        "sendMessage",
    ),
)
CHANNEL_USER = DefaultRole(
    "channel user",
    CHANNEL,
    (
        "deleteOwnMessage",
        "editNotificationLevel",
        "editOwnMessage",
        "editOwnMessageAttributes",
        "leaveChannel",
        "sendMediaMessage",
        "sendMessage",
    ),
)

DEFAULT_ROLES = (SERVICE_ADMIN, SERVICE_USER, CHANNEL_ADMIN, CHANNEL_USER)
"""Created with every service; SERVICE_USER is its default service role, CHANNEL_USER its default
channel role and CHANNEL_ADMIN its default channel creator role."""


def validate_role_type(value: str | None) -> str:
    if value not in ROLE_TYPES:
        raise InvalidParameterError("Type must be 'channel' or 'deployment'")
    return value


def validate_permissions(role_type: str, names: Iterable[str]) -> tuple[str, ...]:
    """The permissions, de-duplicated in order; each must be in the vocabulary of the role type."""
    allowed = SERVICE_PERMISSIONS if role_type == DEPLOYMENT else CHANNEL_PERMISSIONS
    result: list[str] = []
    for name in names:
        if name not in allowed:
            raise InvalidParameterError(
                f"Permission {name[:64]!r} is not a valid {role_type} permission"
            )
        if name not in result:
            result.append(name)
    if not result:
        raise InvalidParameterError("Permission is required")
    return tuple(result)
