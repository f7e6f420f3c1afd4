"""``ChatClient``: one signed-in user's live connection to a Backchannel chat service.

    client = await ChatClient.create(token, url="http://127.0.0.1:8080", token_provider=fetch)
    client.on("messageAdded", lambda message: print(message.author, message.body))
    channel = await client.get_channel_by_unique_name("general")
    await channel.join()
    await channel.send_message("hello")
    await client.shutdown()

Events keep their wire names. Callbacks get: a ``Message`` (message events), a ``Member``
(member and typing events; typing ones carry ``channel_sid`` and ``identity`` only), a ``Channel``
(channel events), a ``User`` (``userUpdated``), the state string (``connectionStateChanged``),
the seconds left (``tokenAboutToExpire``), a ``ChatError`` with ``code`` and ``message``
(``connectionError``), and the event's data otherwise (``tokenExpired``: ``{"expires_at"}``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from backchannel.client.backoff import Backoff
from backchannel.client.channel import Channel
from backchannel.client.connection import Connection, TokenProvider
from backchannel.client.errors import ChatError
from backchannel.client.events import Callback, EventEmitter
from backchannel.client.objects import Member, Message, Paginator, User, token_page

__all__ = ["ChatClient"]

log = logging.getLogger("backchannel.client")

_MESSAGE_EVENTS = frozenset({"messageAdded", "messageUpdated", "messageRemoved"})
_MEMBER_EVENTS = frozenset({"memberJoined", "memberLeft", "memberUpdated"})
_TYPING_EVENTS = frozenset({"typingStarted", "typingEnded"})
_CHANNEL_EVENTS = frozenset(
    {
        "channelAdded",
        "channelUpdated",
        "channelRemoved",
        "channelJoined",
        "channelLeft",
        "channelInvited",
    }
)
_STATUS_AFTER = {
    "channelJoined": "joined",
    "channelLeft": "notParticipating",
    "channelInvited": "invited",
}


class ChatClient:
    """Build it with ``await ChatClient.create(...)``; the constructor does not connect."""

    def __init__(
        self,
        token: str,
        url: str = "http://127.0.0.1:8080",
        token_provider: TokenProvider | None = None,
        *,
        backoff: Backoff | None = None,
    ) -> None:
        self._events = EventEmitter()
        self._channels: dict[str, Channel] = {}
        self._connection = Connection(
            url,
            token,
            emitter=self._events,
            on_ready=self._ready,
            on_event=self._event,
            token_provider=token_provider,
            backoff=backoff,
        )
        self._user: User | None = None
        self._subscribed_loaded = False
        self._loading: asyncio.Task[None] | None = None
        self.service: dict[str, Any] = {}

    @classmethod
    async def create(
        cls,
        token: str,
        url: str = "http://127.0.0.1:8080",
        token_provider: TokenProvider | None = None,
        *,
        backoff: Backoff | None = None,
    ) -> ChatClient:
        """Connect, authenticate and return once the server is ready.

        Raises ``SessionClosedError`` (a ``ChatError``) with the Twilio code when the server
        refuses the token, ``ConnectionLostError`` when it cannot be reached.
        """
        client = cls(token, url, token_provider, backoff=backoff)
        await client._connection.start()
        return client

    async def __aenter__(self) -> ChatClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.shutdown()

    async def shutdown(self) -> None:
        """Close the connection; requests still in flight fail with ``ConnectionLostError``."""
        if self._loading is not None and not self._loading.done():
            self._loading.cancel()
        await self._connection.shutdown()
        await self._events.drain()
        for channel in list(self._channels.values()):
            await channel._events.drain()

    # -- who and how --------------------------------------------------------------------------

    @property
    def user(self) -> User:
        if self._user is None:
            raise RuntimeError("the client has not connected yet")
        return self._user

    @property
    def connection_state(self) -> str:
        """``"connecting"``, ``"connected"``, ``"disconnected"`` or ``"denied"``."""
        return self._connection.state.value

    @property
    def token_expires_in(self) -> float | None:
        """Seconds the current token had left at the server's last word (its clock, not ours)."""
        ready = self._connection.ready
        expires_at, server_time = ready.get("token_expires_at"), ready.get("server_time")
        if expires_at is None or server_time is None:
            return None
        return float(expires_at) - float(server_time)

    def on(self, event: str, callback: Callback) -> Any:
        """Call ``callback(obj)`` for every ``event`` (sync or async); returns the unsubscriber."""
        return self._events.on(event, callback)

    def off(self, event: str, callback: Callback) -> None:
        self._events.off(event, callback)

    async def update_token(self, token: str) -> None:
        """Swap in a new token: on the live session (``updateToken``), or to reconnect with."""
        await self._connection.update_token(token)

    # -- channels -----------------------------------------------------------------------------

    async def create_channel(
        self,
        friendly_name: str | None = None,
        unique_name: str | None = None,
        is_private: bool = False,
        attributes: dict[str, Any] | None = None,
    ) -> Channel:
        """Create a channel; its creator joins it."""
        args: dict[str, Any] = {"type": "private" if is_private else "public"}
        for name, value in (
            ("friendly_name", friendly_name),
            ("unique_name", unique_name),
            ("attributes", attributes),
        ):
            if value is not None:
                args[name] = value
        result = await self._connection.request("createChannel", args)
        channel = self._adopt_channel(result["channel"])
        channel.status = "joined"
        self._connection.resume.baseline(channel.sid, channel.messages_count)
        return channel

    async def get_channel_by_sid(self, sid: str) -> Channel:
        return await self._get_channel(sid)

    async def get_channel_by_unique_name(self, unique_name: str) -> Channel:
        return await self._get_channel(unique_name)

    async def _get_channel(self, sid_or_name: str) -> Channel:
        result = await self._connection.request("getChannel", {"channel": sid_or_name})
        return self._adopt_channel(result["channel"])

    async def get_subscribed_channels(self, page_size: int | None = None) -> Paginator[Channel]:
        """The channels the user is in or invited to, a page at a time."""
        return await token_page(
            self._connection, "getSubscribedChannels", {}, page_size, self._adopt_channel
        )

    async def get_public_channels(self, page_size: int | None = None) -> Paginator[Channel]:
        return await token_page(
            self._connection, "getPublicChannels", {}, page_size, self._adopt_channel
        )

    async def get_user(self, identity: str) -> User:
        result = await self._connection.request("getUser", {"identity": identity})
        if self._user is not None and result["user"].get("identity") == self._user.identity:
            self._user._apply(result["user"])
            return self._user
        return User.from_wire(result["user"], self._connection)

    # -- what the connection tells us ---------------------------------------------------------

    def _ready(self, data: dict[str, Any]) -> None:
        user = data.get("user") or {"sid": "", "identity": data.get("identity", "")}
        if self._user is None:
            self._user = User.from_wire(user, self._connection)
        else:
            self._user._apply(user)
        self.service = data.get("service") or {}
        if not self._subscribed_loaded and (self._loading is None or self._loading.done()):
            self._loading = asyncio.create_task(self._load_subscribed())

    async def _load_subscribed(self) -> None:
        """Learn the channels the user is in, so that a reconnect resumes each of them."""
        try:
            page = await self.get_subscribed_channels(page_size=100)
            while page.has_next_page:
                page = await page.next_page()
            self._subscribed_loaded = True
        except ChatError as error:
            log.info("could not load the subscribed channels yet: %s", error.message)

    def _adopt_channel(self, data: dict[str, Any]) -> Channel:
        """The one ``Channel`` for ``data["sid"]``, updated from ``data``."""
        channel = self._channels.get(data["sid"])
        if channel is None:
            channel = self._channels[data["sid"]] = Channel(data["sid"], _client=self)
        channel._apply(data)
        if channel.status == "joined":
            self._connection.resume.baseline(channel.sid, channel.messages_count)
        return channel

    def _drop_channel(self, sid: str) -> Channel | None:
        self._connection.resume.forget(sid)
        return self._channels.pop(sid, None)

    def _message(self, data: dict[str, Any]) -> Message:
        return Message.from_wire(data, self._connection)

    def _event(self, name: str, data: Any) -> None:
        obj: Any = data
        channel: Channel | None = None
        if name in _MESSAGE_EVENTS:
            obj = self._message(data)
            channel = self._channels.get(obj.channel_sid)
        elif name in _MEMBER_EVENTS or name in _TYPING_EVENTS:
            obj = Member.from_wire(data)
            channel = self._channels.get(obj.channel_sid)
        elif name in _CHANNEL_EVENTS:
            obj = channel = self._channel_event(name, data)
        elif name == "userUpdated":
            obj = self._user_updated(data)
        self._events.emit(name, obj)
        if channel is not None:
            channel._events.emit(name, obj)

    def _channel_event(self, name: str, data: dict[str, Any]) -> Channel:
        if name == "channelRemoved":
            channel = self._drop_channel(data["sid"]) or Channel(data["sid"], _client=self)
            channel._apply(data)
            channel.status = "notParticipating"
            return channel
        channel = self._adopt_channel(data)
        if name in _STATUS_AFTER:
            channel.status = _STATUS_AFTER[name]
        if name == "channelLeft":
            self._connection.resume.forget(channel.sid)
        elif name == "channelJoined":
            self._connection.resume.baseline(channel.sid, channel.messages_count)
        return channel

    def _user_updated(self, data: dict[str, Any]) -> User:
        wire = data.get("user")
        if not isinstance(wire, dict):
            wire = data
        if self._user is not None and wire.get("identity") == self._user.identity:
            self._user._apply(wire)
            return self._user
        return User.from_wire(wire, self._connection)
