"""The grants of an Access Token, with the constructors and payloads of twilio-python's.

Each grant has a ``key`` (its name in the token's ``grants`` claim) and ``to_payload()``; a field
that is not set is left out of the payload. ``payload_problem`` holds the rules a payload must
meet before ``AccessToken`` will mint it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from backchannel.tokens import sids


class AccessTokenGrant:
    """A grant giving access to one product; subclasses set ``key`` and build the payload."""

    key: str = ""

    def to_payload(self) -> dict[str, Any]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.to_payload()}>"

    __str__ = __repr__


def _present(**fields: Any) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value}


class ChatGrant(AccessTokenGrant):
    """Access to a Chat Service (``service_sid``, an ``IS…`` SID)."""

    key = "chat"

    def __init__(
        self,
        service_sid: str | None = None,
        endpoint_id: str | None = None,
        deployment_role_sid: str | None = None,
        push_credential_sid: str | None = None,
    ) -> None:
        self.service_sid = service_sid
        self.endpoint_id = endpoint_id
        self.deployment_role_sid = deployment_role_sid
        self.push_credential_sid = push_credential_sid

    def to_payload(self) -> dict[str, Any]:
        return _present(
            service_sid=self.service_sid,
            endpoint_id=self.endpoint_id,
            deployment_role_sid=self.deployment_role_sid,
            push_credential_sid=self.push_credential_sid,
        )


class SyncGrant(AccessTokenGrant):
    """Access to a Sync service."""

    key = "data_sync"

    def __init__(self, service_sid: str | None = None, endpoint_id: str | None = None) -> None:
        self.service_sid = service_sid
        self.endpoint_id = endpoint_id

    def to_payload(self) -> dict[str, Any]:
        return _present(service_sid=self.service_sid, endpoint_id=self.endpoint_id)


class VideoGrant(AccessTokenGrant):
    """Access to a Video room (by name or SID), or to any room when ``room`` is not set."""

    key = "video"

    def __init__(self, room: str | None = None) -> None:
        self.room = room

    def to_payload(self) -> dict[str, Any]:
        return _present(room=self.room)


class VoiceGrant(AccessTokenGrant):
    """Incoming and outgoing Programmable Voice calls."""

    key = "voice"

    def __init__(
        self,
        incoming_allow: bool | None = None,
        outgoing_application_sid: str | None = None,
        outgoing_application_params: dict[str, Any] | None = None,
        push_credential_sid: str | None = None,
        endpoint_id: str | None = None,
    ) -> None:
        self.incoming_allow = incoming_allow
        self.outgoing_application_sid = outgoing_application_sid
        self.outgoing_application_params = outgoing_application_params
        self.push_credential_sid = push_credential_sid
        self.endpoint_id = endpoint_id

    def to_payload(self) -> dict[str, Any]:
        grant: dict[str, Any] = {}
        if self.incoming_allow is True:
            grant["incoming"] = {"allow": True}
        if self.outgoing_application_sid:
            grant["outgoing"] = {"application_sid": self.outgoing_application_sid}
            if self.outgoing_application_params:
                grant["outgoing"]["params"] = self.outgoing_application_params
        grant.update(
            _present(push_credential_sid=self.push_credential_sid, endpoint_id=self.endpoint_id)
        )
        return grant


class TaskRouterGrant(AccessTokenGrant):
    """Access to a TaskRouter workspace, as a worker or with a role."""

    key = "task_router"

    def __init__(
        self,
        workspace_sid: str | None = None,
        worker_sid: str | None = None,
        role: str | None = None,
    ) -> None:
        self.workspace_sid = workspace_sid
        self.worker_sid = worker_sid
        self.role = role

    def to_payload(self) -> dict[str, Any]:
        return _present(
            workspace_sid=self.workspace_sid, worker_sid=self.worker_sid, role=self.role
        )


class PlaybackGrant(AccessTokenGrant):
    """Access to a Live stream; ``grant`` is the dict the Twilio API returned, passed through."""

    key = "player"

    def __init__(self, grant: dict[str, Any] | None = None) -> None:
        self.grant = grant

    def to_payload(self) -> dict[str, Any]:
        return self.grant or {}


def _sid_fields(**kinds: str) -> Callable[[dict[str, Any]], str | None]:
    """A rule: each named field, when present, is a SID of the given kind."""

    def check(payload: dict[str, Any]) -> str | None:
        for field, prefix in kinds.items():
            if field in payload and not sids.is_sid(payload[field], prefix):
                return f"{field} must be a {prefix} SID ({prefix} and 32 hex digits)"
        return None

    return check


_chat_sids = _sid_fields(service_sid="IS", deployment_role_sid="RL", push_credential_sid="CR")


def _chat(payload: dict[str, Any]) -> str | None:
    if "service_sid" not in payload:
        return "a chat grant needs the service_sid of a Chat Service (IS…)"
    return _chat_sids(payload)


_voice_sids = _sid_fields(push_credential_sid="CR")
_outgoing_sids = _sid_fields(application_sid="AP")


def _voice(payload: dict[str, Any]) -> str | None:
    outgoing = payload.get("outgoing", {})
    problem = _outgoing_sids(outgoing)
    if problem:
        return f"outgoing_{problem}"
    if not isinstance(outgoing.get("params", {}), dict):
        return "outgoing_application_params must be a dict"
    return _voice_sids(payload)


_RULES: dict[str, Callable[[dict[str, Any]], str | None]] = {
    "chat": _chat,
    "data_sync": _sid_fields(service_sid="IS"),
    "voice": _voice,
    "task_router": _sid_fields(workspace_sid="WS", worker_sid="WK"),
}


def payload_problem(key: str, payload: object) -> str | None:
    """Why the payload of the grant ``key`` cannot be minted, or None when it can."""
    if not isinstance(payload, dict):
        return f"the {key} grant's payload must be a dict"
    rule = _RULES.get(key)
    return rule(payload) if rule else None
