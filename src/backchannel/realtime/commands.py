"""The requests a live session answers (docs/protocol.md, "Commands"), and what they share.

Each command is ``async def command(session, args) -> result``; a ``BackchannelError`` it raises
becomes an error reply with its Twilio code. A command runs in one transaction (``acting``);
the events it raises are published after the commit. Parameters are checked by the same rules
as the REST API's: the arguments are handed to them as the form a REST client would send.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from backchannel.chat import validation
from backchannel.chat.errors import ChannelNotFoundError, NotAuthorizedError, UserNotFoundError
from backchannel.realtime import events, objects, protocol
from backchannel.realtime.events import Publication
from backchannel.realtime.protocol import BadRequestError
from backchannel.realtime.session import Session
from backchannel.store import roles, users
from backchannel.store.channels import get_channel
from backchannel.store.invites import find_invite
from backchannel.store.members import get_member_by_identity

Command = Callable[[Session, dict[str, Any]], Awaitable[Any]]
COMMANDS: dict[str, Command] = {}


def command(name: str) -> Callable[[Command], Command]:
    def register(function: Command) -> Command:
        COMMANDS[name] = function
        return function

    return register


# -- arguments --------------------------------------------------------------------------------


def text_arg(args: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = args.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise BadRequestError(f"{name} must be a string")
    try:
        value.encode()
    except UnicodeEncodeError:  # a lone surrogate, which a JSON \u escape can spell
        raise BadRequestError(f"{name} must be Unicode text, without lone surrogates") from None
    return value


def int_arg(args: dict[str, Any], name: str, *, required: bool = False) -> int | None:
    value = args.get(name)
    if value is None and not required:
        return None
    if type(value) is not int or not 0 <= value < 2**31:
        raise BadRequestError(f"{name} must be a whole number from 0")
    return value


def attributes_arg(args: dict[str, Any], name: str = "attributes") -> str | None:
    """Attributes travel as JSON objects; the store keeps them as the REST API does, as text."""
    value = args.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadRequestError(f"{name} must be a JSON object")
    return protocol.encode(value)


def form(**values: str | None) -> dict[str, list[str]]:
    """Arguments as the REST form the shared validation rules read (None: not sent)."""
    return {name: [value] for name, value in values.items() if value is not None}


# -- one command's transaction ------------------------------------------------------------------


@dataclass
class Acting:
    """What a command works with: its connection, its session, and the events it raises."""

    session: Session
    conn: AsyncConnection
    publications: list[Publication] = field(default_factory=list)
    _service_permissions: frozenset[str] | None = None

    def publish(self, publications: list[Publication]) -> None:
        self.publications.extend(publications)

    async def service_permissions(self) -> frozenset[str]:
        if self._service_permissions is None:
            self._service_permissions = await self.permissions(self.session.user["role_sid"])
        return self._service_permissions

    async def permissions(self, role_sid: str | None) -> frozenset[str]:
        role = await roles.get_role(self.conn, self.session.service["sid"], role_sid or "")
        return frozenset(role["permissions"]) if role else frozenset()

    async def require(self, permission: str, member: dict[str, Any] | None = None) -> None:
        """The user's service role, or their role in the channel, must grant ``permission``."""
        if permission in await self.service_permissions():
            return
        if member is not None and permission in await self.permissions(member["role_sid"]):
            return
        raise NotAuthorizedError()

    async def channel(self, args: dict[str, Any]) -> dict[str, Any]:
        """The ``channel`` argument (SID or unique name) if the user may see it; else 50300."""
        key = text_arg(args, "channel", required=True)
        assert key is not None
        channel = await get_channel(self.conn, self.session.service["sid"], key)
        if channel is None:
            raise ChannelNotFoundError(f"Channel {key[:64]} not found")
        if (
            channel["type"] != "public"
            and await self.membership(channel) is None
            and await find_invite(self.conn, channel["sid"], self.session.identity) is None
        ):
            raise ChannelNotFoundError(f"Channel {key[:64]} not found")
        return channel

    async def membership(self, channel: dict[str, Any]) -> dict[str, Any] | None:
        return await get_member_by_identity(self.conn, channel["sid"], self.session.identity)

    async def member(self, channel: dict[str, Any]) -> dict[str, Any]:
        """The user's member row in ``channel``; not a member: 50107."""
        member = await self.membership(channel)
        if member is None:
            raise NotAuthorizedError("User is not a member of the channel")
        return member

    async def channel_object(self, channel: dict[str, Any]) -> dict[str, Any]:
        member = await self.membership(channel)
        if member is not None:
            status, consumed = "joined", member["last_consumed_message_index"]
        elif await find_invite(self.conn, channel["sid"], self.session.identity) is not None:
            status, consumed = "invited", None
        else:
            status, consumed = "notParticipating", None
        return objects.channel(channel, status=status, last_consumed=consumed)


@asynccontextmanager
async def acting(session: Session) -> AsyncIterator[Acting]:
    store = session.node.store
    async with store.transaction() as conn:
        act = Acting(session, conn)
        yield act
    await session.node.publish(act.publications)


# -- session and users --------------------------------------------------------------------------


@command("ping")
async def ping(session: Session, args: dict[str, Any]) -> Any:
    return {"server_time": round(session.node.clock(), 3)}


@command("updateToken")
async def update_token(session: Session, args: dict[str, Any]) -> Any:
    token = text_arg(args, "token", required=True)
    assert token is not None
    return await session.update_token(token)


@command("getUser")
async def get_user(session: Session, args: dict[str, Any]) -> Any:
    identity = text_arg(args, "identity", required=True)
    assert identity is not None
    async with acting(session) as act:
        user = await users.get_user_by_identity(act.conn, session.service["sid"], identity)
    if user is None:
        raise UserNotFoundError(f"User {identity[:64]!r} not found")
    return {"user": objects.user(user)}


@command("updateUser")
async def update_user(session: Session, args: dict[str, Any]) -> Any:
    changes: dict[str, Any] = {}
    friendly_name = text_arg(args, "friendly_name")
    if friendly_name is not None:
        changes["friendly_name"] = validation.friendly_name(friendly_name)
    attributes = attributes_arg(args)
    if attributes is not None:
        changes["attributes"] = validation.attributes(attributes)
    async with acting(session) as act:
        await act.require("editOwnUserInfo")
        service_sid = session.service["sid"]
        user = await users.update_user(act.conn, service_sid, session.user["sid"], changes)
        assert user is not None
        channel_sids = list(session.channels)
        act.publish(events.user_updated(user, sorted(changes), channel_sids))
    return {"user": objects.user(user)}


# The command modules register themselves with @command as they are imported.
from backchannel.realtime import channel_commands, message_commands  # noqa: E402, F401
