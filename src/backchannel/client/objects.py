"""The protocol's objects as the SDK hands them out: Message, Member, User, Invite, Paginator.

Each is built from the wire form (docs/protocol.md, "Objects") with ``from_wire``; times become
timezone-aware ``datetime``s. Messages and users keep a handle on the connection so that
``message.update(...)`` and ``user.update_friendly_name(...)`` can talk to the server; they update
the object in place from the server's answer and return it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

__all__ = ["Invite", "Member", "Message", "Paginator", "Requester", "User"]

T = TypeVar("T")


class Requester(Protocol):
    """What objects need from the connection: one request, one reply."""

    async def request(self, cmd: str, args: dict[str, Any]) -> Any: ...


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time of the wire (``2026-01-02T03:04:05Z``), or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _attributes(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@dataclass(eq=False)
class Message:
    sid: str
    index: int
    channel_sid: str
    author: str | None
    body: str | None
    attributes: dict[str, Any]
    date_created: datetime | None
    date_updated: datetime | None = None
    was_edited: bool = False
    last_updated_by: str | None = None
    _requester: Requester | None = field(default=None, repr=False)

    @classmethod
    def from_wire(cls, data: dict[str, Any], requester: Requester | None = None) -> Message:
        message = cls(data["sid"], data["index"], data["channel_sid"], None, None, {}, None)
        message._requester = requester
        message._apply(data)
        return message

    def _apply(self, data: dict[str, Any]) -> None:
        self.author = data.get("author")
        self.body = data.get("body")
        self.attributes = _attributes(data.get("attributes"))
        self.date_created = parse_time(data.get("date_created"))
        self.date_updated = parse_time(data.get("date_updated"))
        self.was_edited = bool(data.get("was_edited", False))
        self.last_updated_by = data.get("last_updated_by")

    def _connection(self) -> Requester:
        if self._requester is None:
            raise RuntimeError("this message is not attached to a client")
        return self._requester

    async def update(
        self, body: str | None = None, attributes: dict[str, Any] | None = None
    ) -> Message:
        """Change the body and/or attributes (editOwnMessage / editAnyMessage)."""
        args: dict[str, Any] = {"channel": self.channel_sid, "index": self.index}
        if body is not None:
            args["body"] = body
        if attributes is not None:
            args["attributes"] = attributes
        result = await self._connection().request("updateMessage", args)
        self._apply(result["message"])
        return self

    async def remove(self) -> None:
        """Delete the message (deleteOwnMessage / deleteAnyMessage)."""
        args = {"channel": self.channel_sid, "index": self.index}
        await self._connection().request("removeMessage", args)


@dataclass(eq=False)
class Member:
    """A channel member; typing events carry only ``channel_sid`` and ``identity``."""

    channel_sid: str
    identity: str
    sid: str | None = None
    role_sid: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    last_consumed_message_index: int | None = None
    last_consumption_timestamp: datetime | None = None
    date_created: datetime | None = None
    date_updated: datetime | None = None

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Member:
        return cls(
            channel_sid=data["channel_sid"],
            identity=data["identity"],
            sid=data.get("sid"),
            role_sid=data.get("role_sid"),
            attributes=_attributes(data.get("attributes")),
            last_consumed_message_index=data.get("last_consumed_message_index"),
            last_consumption_timestamp=parse_time(data.get("last_consumption_timestamp")),
            date_created=parse_time(data.get("date_created")),
            date_updated=parse_time(data.get("date_updated")),
        )


@dataclass(eq=False)
class User:
    sid: str
    identity: str
    friendly_name: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    role_sid: str | None = None
    is_online: bool | None = None
    is_notifiable: bool | None = None
    _requester: Requester | None = field(default=None, repr=False)

    @classmethod
    def from_wire(cls, data: dict[str, Any], requester: Requester | None = None) -> User:
        user = cls(data["sid"], data["identity"], _requester=requester)
        user._apply(data)
        return user

    def _apply(self, data: dict[str, Any]) -> None:
        self.sid = data.get("sid", self.sid)
        self.friendly_name = data.get("friendly_name")
        self.attributes = _attributes(data.get("attributes"))
        self.role_sid = data.get("role_sid")
        self.is_online = data.get("is_online")
        self.is_notifiable = data.get("is_notifiable")

    async def _update(self, args: dict[str, Any]) -> User:
        if self._requester is None:
            raise RuntimeError("this user is not attached to a client")
        result = await self._requester.request("updateUser", args)
        self._apply(result["user"])
        return self

    async def update_friendly_name(self, friendly_name: str | None) -> User:
        """Set the signed-in user's friendly name (editOwnUserInfo)."""
        return await self._update({"friendly_name": friendly_name})

    async def update_attributes(self, attributes: dict[str, Any]) -> User:
        """Replace the signed-in user's attributes (editOwnUserInfo)."""
        return await self._update({"attributes": attributes})


@dataclass(eq=False)
class Invite:
    sid: str
    channel_sid: str
    identity: str
    created_by: str | None = None
    date_created: datetime | None = None

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Invite:
        return cls(
            data["sid"],
            data["channel_sid"],
            data["identity"],
            data.get("created_by"),
            parse_time(data.get("date_created")),
        )


@dataclass(eq=False)
class Paginator(Generic[T]):
    """One page: ``items``, ``has_next_page``, and ``await next_page()`` for the one after."""

    items: list[T]
    has_next_page: bool
    _fetch_next: Callable[[], Awaitable[Paginator[T]]] | None = field(default=None, repr=False)

    async def next_page(self) -> Paginator[T]:
        if not self.has_next_page or self._fetch_next is None:
            raise LookupError("this is the last page")
        return await self._fetch_next()

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


async def token_page(
    requester: Requester,
    cmd: str,
    args: dict[str, Any],
    page_size: int | None,
    make: Callable[[dict[str, Any]], T],
    page_token: str | None = None,
) -> Paginator[T]:
    """A page of a listing that goes on by ``next_page_token`` (getSubscribedChannels,
    getPublicChannels, getMembers), its items made by ``make``."""
    request = dict(args)
    if page_size is not None:
        request["page_size"] = page_size
    if page_token is not None:
        request["page_token"] = page_token
    result = await requester.request(cmd, request)
    items = [make(data) for data in result.get("items", [])]
    next_token = result.get("next_page_token")

    async def fetch_next() -> Paginator[T]:
        return await token_page(requester, cmd, args, page_size, make, next_token)

    return Paginator(items, bool(next_token), fetch_next)
