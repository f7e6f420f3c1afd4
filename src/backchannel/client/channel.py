"""``Channel``: one chat channel as the signed-in user sees it, and what they can do in it.

The client keeps one ``Channel`` per SID: every fetch and every channel event updates that same
object in place, so a reference stays current. ``channel.on(event, callback)`` gets the events of
this channel only (messages, members, typing, its own updates).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from backchannel.client.events import Callback, EventEmitter
from backchannel.client.objects import (
    Invite,
    Member,
    Message,
    Paginator,
    parse_time,
    token_page,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from backchannel.client.client import ChatClient

__all__ = ["Channel"]

_UNSET: Any = object()


@dataclass(eq=False)
class Channel:
    sid: str
    unique_name: str | None = None
    friendly_name: str | None = None
    type: str = "public"
    attributes: dict[str, Any] = field(default_factory=dict)
    created_by: str | None = None
    members_count: int = 0
    messages_count: int = 0
    date_created: datetime | None = None
    date_updated: datetime | None = None
    status: str = "notParticipating"  # "joined" | "invited" | "notParticipating"
    last_consumed_message_index: int | None = None
    _client: ChatClient | None = field(default=None, repr=False)
    _events: EventEmitter = field(default_factory=EventEmitter, repr=False)

    def _apply(self, data: dict[str, Any]) -> None:
        """Take the server's view; per-caller fields only when the frame carries them."""
        self.unique_name = data.get("unique_name")
        self.friendly_name = data.get("friendly_name")
        self.type = data.get("type") or self.type
        attributes = data.get("attributes")
        self.attributes = attributes if isinstance(attributes, dict) else {}
        self.created_by = data.get("created_by")
        self.members_count = data.get("members_count") or 0
        self.messages_count = data.get("messages_count") or 0
        self.date_created = parse_time(data.get("date_created"))
        self.date_updated = parse_time(data.get("date_updated"))
        if data.get("status"):
            self.status = data["status"]
        if data.get("last_consumed_message_index") is not None:
            self.last_consumed_message_index = data["last_consumed_message_index"]

    @property
    def is_private(self) -> bool:
        return self.type == "private"

    def on(self, event: str, callback: Callback) -> Callable[[], None]:
        """Call ``callback(obj)`` for this channel's ``event``; returns the unsubscriber."""
        return self._events.on(event, callback)

    def off(self, event: str, callback: Callback) -> None:
        self._events.off(event, callback)

    def _chat(self) -> ChatClient:
        if self._client is None:
            raise RuntimeError("this channel is not attached to a client")
        return self._client

    async def _request(self, cmd: str, **args: Any) -> Any:
        return await self._chat()._connection.request(cmd, {"channel": self.sid, **args})

    # -- membership ---------------------------------------------------------------------------

    async def join(self) -> Channel:
        """Join (joinChannel); a no-op when already joined."""
        if self.status == "joined":
            return self
        result = await self._request("joinChannel")
        self._chat()._adopt_channel(result["channel"])
        self.status = "joined"
        return self

    async def leave(self) -> Channel:
        await self._request("leaveChannel")
        self._left()
        return self

    async def decline_invitation(self) -> Channel:
        await self._request("declineInvitation")
        self._left()
        return self

    def _left(self) -> None:
        self.status = "notParticipating"
        self._chat()._connection.resume.forget(self.sid)

    async def add(self, identity: str) -> Member:
        """Add ``identity`` as a member (addMember)."""
        result = await self._request("addMember", identity=identity)
        return Member.from_wire(result["member"])

    async def invite(self, identity: str) -> Invite:
        """Invite ``identity`` (inviteMember); they get ``channelInvited``."""
        result = await self._request("inviteMember", identity=identity)
        return Invite.from_wire(result["invite"])

    async def remove_member(self, identity: str) -> None:
        await self._request("removeMember", identity=identity)

    async def get_members(self, page_size: int | None = None) -> Paginator[Member]:
        """The channel's members in the order they joined, a page at a time (getMembers; the
        user must be one of them)."""
        connection = self._chat()._connection
        args = {"channel": self.sid}
        return await token_page(connection, "getMembers", args, page_size, Member.from_wire)

    # -- the channel itself -------------------------------------------------------------------

    async def update(
        self,
        *,
        friendly_name: str | None = _UNSET,
        unique_name: str | None = _UNSET,
        attributes: dict[str, Any] | None = _UNSET,
    ) -> Channel:
        """Change the given fields only (editChannelName / editChannelAttributes)."""
        args = {
            name: value
            for name, value in (
                ("friendly_name", friendly_name),
                ("unique_name", unique_name),
                ("attributes", attributes),
            )
            if value is not _UNSET
        }
        result = await self._request("updateChannel", **args)
        self._chat()._adopt_channel(result["channel"])
        return self

    async def destroy(self) -> None:
        await self._request("destroyChannel")
        self._chat()._drop_channel(self.sid)

    # -- messages -----------------------------------------------------------------------------

    async def send_message(self, body: str, attributes: dict[str, Any] | None = None) -> int:
        """Send a message; returns its index once the server has committed it.

        If the connection drops first, the same request (same idempotency key) is sent again
        after reconnecting, so the message is stored once however many times it is sent.
        """
        args: dict[str, Any] = {"channel": self.sid, "body": body, "key": uuid.uuid4().hex}
        if attributes is not None:
            args["attributes"] = attributes
        chat = self._chat()
        result = await chat._connection.request("sendMessage", args, retry=True)
        chat._connection.resume.saw(self.sid, result["index"])
        return int(result["index"])

    async def get_messages(
        self, page_size: int = 30, anchor: int | None = None, direction: str = "backwards"
    ) -> Paginator[Message]:
        """A page of messages in ascending index order; ``next_page()`` continues in
        ``direction`` (``"backwards"``: older, the default; ``"forwards"``: newer)."""
        args: dict[str, Any] = {"page_size": page_size, "direction": direction}
        if anchor is not None:
            args["anchor"] = anchor
        result = await self._request("getMessages", **args)
        chat = self._chat()
        items = [chat._message(data) for data in result.get("items", [])]
        for message in items:
            chat._connection.resume.saw(self.sid, message.index)
        has_next = bool(result.get("has_next_page")) and bool(items)

        async def fetch_next() -> Paginator[Message]:
            if direction == "forwards":
                return await self.get_messages(page_size, items[-1].index + 1, direction)
            return await self.get_messages(page_size, items[0].index - 1, direction)

        return Paginator(items, has_next, fetch_next)

    async def typing(self) -> None:
        """Tell the other members this user is typing (``typingStarted`` for them)."""
        await self._request("typing")

    async def update_last_consumed_message_index(self, index: int | None) -> int | None:
        """Move the read horizon to ``index``; returns the unread count it leaves."""
        result = await self._request("updateLastConsumedMessageIndex", index=index)
        self.last_consumed_message_index = result.get("last_consumed_message_index")
        unread = result.get("unread_count")
        return int(unread) if unread is not None else None
