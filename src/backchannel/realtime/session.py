"""One client's live session: authenticate, then requests in and events out (docs/protocol.md).

A session is three things running together: the receive loop (first the replay of what a
resuming client missed, then requests, answered in order; ``sendMessage`` requests go to the
node's ``MessageWriter`` and the loop reads on, so that one sender's messages can be committed
together), a bounded outbox (so one slow client can never hold up the others) whose frames are
handed to the server once per turn of the event loop, or sent by the send loop through ASGI
while the socket cannot take them, and broker subscriptions that put events in the outbox. Token
timers warn before expiry and close at expiry; ``updateToken`` re-arms them. Whatever goes wrong
inside a request becomes an error reply; whatever goes wrong with the socket ends this session
only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from backchannel.errors import BackchannelError
from backchannel.realtime import fanout, objects, protocol
from backchannel.realtime.protocol import (
    SEND_TEXTS,
    BadRequestError,
    Close,
    Outgoing,
    ProtocolError,
    texts_of,
)
from backchannel.store.access import ChatPrincipal, verify_chat_token
from backchannel.tokens import TokenError

if TYPE_CHECKING:
    from backchannel.realtime.broker import Subscription
    from backchannel.realtime.node import Node

log = logging.getLogger(__name__)

AUTH_TIMEOUT = 10.0  # seconds to send `authenticate`
WARN_BEFORE = 180  # seconds: tokenAboutToExpire comes this long before exp …
SHORT_TOKEN = 360  # … unless the token lives less than this: then at half its lifetime
OUTBOX_FRAMES = 2048
OUTBOX_BYTES = 4 * 1024 * 1024  # … and at most this much text (frames are ASCII JSON: bytes)
FLOOD_WINDOW = 10.0  # seconds
SUBSCRIBE_TIMEOUT = 10.0  # seconds for the broker to confirm a new session's subscriptions
# sendMessage requests of one session waiting for their commit: a whole batch of the message
# writer's (its MAX_BATCH is this), so that a busy sender's requests go in one batch while the
# one before it commits, not half of them a turn later (docs/performance.md)
SENDS_IN_FLIGHT = 256


class InternalError(BackchannelError):
    code = 20500
    status = 500


class HandOvers:
    """The sessions of a node with frames queued, handed over together: by one callback at the
    end of the turn of the event loop they were queued in, or at once by ``run()``, which the
    message writer calls after each batch so that its events and replies leave in its turn."""

    def __init__(self) -> None:
        self._sessions: list[Session] = []
        self._scheduled = False

    def add(self, session: Session) -> None:
        self._sessions.append(session)
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._run_scheduled)

    def _run_scheduled(self) -> None:
        self._scheduled = False
        self.run()

    def run(self) -> None:
        sessions, self._sessions = self._sessions, []
        for session in sessions:
            try:
                session.hand_over()
            except Exception:  # that session's alone: the others still get theirs
                log.exception("handing frames over to the server failed")


class _Closing(Exception):
    """Raised inside the session to end it with a close code."""

    def __init__(self, code: int, twilio_code: int | None = None, message: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.twilio_code = twilio_code
        self.message = message


class Session:
    def __init__(self, node: Node, websocket: WebSocket) -> None:
        self.node = node
        self.websocket = websocket
        self.principal: ChatPrincipal | None = None
        # Frames to send: each a text, or a block of them that other sessions are handed too
        # (an event message's frames, the same tuple for all of its subscribers).
        self._outbox: deque[Outgoing] = deque()
        self._outbox_frames = 0  # at most OUTBOX_FRAMES
        self._outbox_size = 0  # their characters, at most OUTBOX_BYTES
        self._outbox_filled = asyncio.Event()  # for the send loop: frames to send through ASGI
        self._hand_over_scheduled = False
        self._sending_through_asgi = False
        extension = websocket.scope.get("extensions", {}).get(SEND_TEXTS, {})
        self._send_texts: Callable[[Iterable[Outgoing]], bool] | None = extension.get("send")
        self.subscriptions: dict[str, Subscription] = {}
        self.channels: set[str] = set()
        self._timers: list[asyncio.TimerHandle] = []
        self.typing: dict[str, asyncio.TimerHandle] = {}  # channel SID → typingEnded timer
        self._closing: _Closing | None = None
        self._closed = asyncio.Event()
        self._replaying: list[fanout.Delivery] | None = None  # events held while replaying …
        self._held_frames = 0  # … their frames, which count against the outbox's limits
        self._held_size = 0
        self._bucket = float(node.burst)
        self._bucket_at = time.monotonic()
        self._refused = 0
        self._refused_since = 0.0
        self.counted_online = False
        self._sending: deque[asyncio.Future[None]] = deque()  # in request order

    # -- who ----------------------------------------------------------------------------------

    @property
    def identity(self) -> str:
        assert self.principal is not None
        return self.principal.token.identity

    @property
    def service(self) -> dict[str, Any]:
        assert self.principal is not None
        return self.principal.service

    @property
    def user(self) -> dict[str, Any]:
        assert self.principal is not None
        return self.principal.user

    # -- life ---------------------------------------------------------------------------------

    async def run(self) -> None:
        await self.websocket.accept()
        try:
            resume = await self._authenticate()
            await self._serve_until_closed(resume)
        except _Closing as closing:
            self.close(closing.code, closing.twilio_code, closing.message)
        except (WebSocketDisconnect, OSError):
            pass
        finally:
            self._stop()
            await self._close_socket()
            self.node.forget(self)
            if self.counted_online:
                with contextlib.suppress(Exception):
                    await self.node.presence(self, -1)

    async def _serve_until_closed(self, resume: dict[str, Any]) -> None:
        """Replay what the client missed, then answer its requests, while the send loop sends;
        until the client goes or the session is closed, which cuts even the replay short: a
        client that does not read must not keep a revoked session open by stalling it."""
        tasks = {
            asyncio.create_task(self._send_loop()),
            asyncio.create_task(self._receive_loop(resume)),
            asyncio.create_task(self._closed.wait()),
        }
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for task in done:
            task.result()  # what went wrong unforeseen (say, the replay's query) is not hidden

    def close(self, code: int, twilio_code: int | None = None, message: str = "") -> None:
        """End the session with ``code`` (callable from broker handlers and timers)."""
        if self._closing is None:
            self._closing = _Closing(code, twilio_code, message)
        self._closed.set()

    def _stop(self) -> None:
        for timer in [*self._timers, *self.typing.values()]:
            timer.cancel()
        self._timers.clear()
        self.typing.clear()
        for subscription in self.subscriptions.values():
            subscription.close()
        self.subscriptions.clear()

    async def _close_socket(self) -> None:
        if self.websocket.client_state != WebSocketState.CONNECTED:
            return
        closing = self._closing or _Closing(Close.NORMAL)
        if closing.code != Close.TOO_SLOW:
            await self._flush()
        reason = ""
        if closing.twilio_code is not None:
            reason = protocol.close_reason(closing.twilio_code, closing.message)
        with contextlib.suppress(Exception):
            await self.websocket.close(closing.code, reason)

    # -- authentication -----------------------------------------------------------------------

    async def _authenticate(self) -> dict[str, Any]:
        """Verify the first frame's token, subscribe, say ``ready``; returns what the client
        asks to resume."""
        try:
            text = await asyncio.wait_for(self._receive_text(), AUTH_TIMEOUT)
        except TimeoutError:
            raise _Closing(Close.AUTH_TIMEOUT, None, "no authenticate frame in time") from None
        request = self._parse(text)
        if request.cmd != "authenticate":
            raise _Closing(Close.PROTOCOL_ERROR, 20001, "the first frame must be authenticate")
        token = request.args.get("token")
        resume = request.args.get("resume", {})
        if not isinstance(token, str) or not isinstance(resume, dict):
            raise _Closing(Close.PROTOCOL_ERROR, 20001, "authenticate needs a token string")
        self.principal = await self._verify(token)
        self.authenticated_at = self.node.clock()
        self._subscribe(fanout.key_topic(self.principal.token.key_sid))
        self._subscribe(fanout.user_topic(self.user["sid"]))
        self._subscribe(fanout.service_topic(self.service["sid"]))
        self._replaying = []
        for channel_sid in await self.node.member_channels(self.user["sid"]):
            self.join_channel(channel_sid)
        # Across nodes a subscription takes a round trip to go live; the replay below must not
        # start before it has, or a message committed in between would be missed.
        async with asyncio.timeout(SUBSCRIBE_TIMEOUT):
            await asyncio.gather(*(s.ready() for s in self.subscriptions.values()))
        self.node.adopt(self)
        await self.node.presence(self, +1)
        self.counted_online = True
        await self.websocket.send_text(protocol.event("ready", self._ready()))
        return resume

    async def _verify(self, token: str) -> ChatPrincipal:
        store = self.node.store
        try:
            async with store.transaction() as conn:
                return await verify_chat_token(conn, store.box, token, self.node.clock)
        except TokenError as error:
            code = protocol.close_code_for_token_error(error)
            raise _Closing(code, error.code, error.message) from None

    def _ready(self) -> dict[str, Any]:
        assert self.principal is not None
        token = self.principal.token
        return {
            "protocol": 1,
            "identity": token.identity,
            "user": objects.user(self.user),
            "service": objects.service(self.service),
            "server_time": round(self.node.clock(), 3),
            "token_expires_at": token.expires_at,
        }

    async def _replay(self, resume: dict[str, Any]) -> None:
        """Send what was missed in each resumed channel, then what arrived meanwhile, once."""
        last_sent: dict[str, int] = {}
        for channel_sid, seen in resume.items():
            if channel_sid not in self.channels or type(seen) is not int:
                continue
            for message in await self.node.messages_after(channel_sid, seen):
                frame = protocol.event("messageAdded", objects.message(message))
                await self.websocket.send_text(frame)
                last_sent[channel_sid] = message["index"]
        buffered, self._replaying = self._replaying or [], None
        self._held_frames = self._held_size = 0  # they move to the outbox, within its limits
        for delivery in buffered:
            replayed = last_sent.get(delivery.channel, -1)
            for offset, frame in enumerate(delivery.frames):
                if delivery.index is None or delivery.index + offset > replayed:
                    self._enqueue(frame)

    # -- token lifecycle ----------------------------------------------------------------------

    def arm_token_timers(self) -> None:
        assert self.principal is not None
        for timer in self._timers:
            timer.cancel()
        token = self.principal.token
        now = self.node.clock()
        start = token.not_before or token.issued_at or self.authenticated_at
        lifetime = token.expires_at - start
        lead = WARN_BEFORE if lifetime >= SHORT_TOKEN else lifetime / 2
        loop = asyncio.get_running_loop()
        self._timers = [
            loop.call_later(max(0.0, token.expires_at - lead - now), self._about_to_expire),
            loop.call_later(max(0.0, token.expires_at - now), self._expired),
        ]

    def _about_to_expire(self) -> None:
        assert self.principal is not None
        expires_at = self.principal.token.expires_at
        left = max(0, round(expires_at - self.node.clock()))
        self._enqueue(
            protocol.event("tokenAboutToExpire", {"expires_in": left, "expires_at": expires_at})
        )

    def _expired(self) -> None:
        assert self.principal is not None
        expires_at = self.principal.token.expires_at
        self._enqueue(protocol.event("tokenExpired", {"expires_at": expires_at}))
        self.close(Close.TOKEN_EXPIRED, 20104, "the token has expired")

    async def update_token(self, token: str) -> dict[str, Any]:
        """Swap the session's token for ``token`` (same identity and service) and re-arm."""
        from backchannel.tokens import InvalidGrantsError

        assert self.principal is not None
        store = self.node.store
        async with store.transaction() as conn:
            principal = await verify_chat_token(conn, store.box, token, self.node.clock)
        if (
            principal.token.identity != self.identity
            or principal.service["sid"] != self.service["sid"]
        ):
            raise InvalidGrantsError("the new token is for another identity or service")
        old_key = self.principal.token.key_sid
        self.principal = principal
        self.authenticated_at = self.node.clock()
        if principal.token.key_sid != old_key:
            self._subscribe(fanout.key_topic(principal.token.key_sid))
            self._unsubscribe(fanout.key_topic(old_key))
        self.arm_token_timers()
        return {"token_expires_at": principal.token.expires_at}

    # -- subscriptions ------------------------------------------------------------------------

    def _subscribe(self, topic: str) -> None:
        if topic not in self.subscriptions:
            self.subscriptions[topic] = self.node.broker.subscribe(topic, self._deliver)

    def _unsubscribe(self, topic: str) -> None:
        subscription = self.subscriptions.pop(topic, None)
        if subscription is not None:
            subscription.close()

    def join_channel(self, channel_sid: str) -> None:
        self.channels.add(channel_sid)
        self._subscribe(fanout.channel_topic(channel_sid))

    def leave_channel(self, channel_sid: str) -> None:
        self.channels.discard(channel_sid)
        self._unsubscribe(fanout.channel_topic(channel_sid))

    def _deliver(self, topic: str, message: str) -> None:
        delivery = fanout.parse(message)
        if delivery.kind == "c":
            self._control(delivery.body)
        elif delivery.exclude and delivery.exclude == self.identity:
            return
        elif self._replaying is not None:
            if self._fits(len(delivery.frames), delivery.size):
                self._replaying.append(delivery)
                self._held_frames += len(delivery.frames)
                self._held_size += delivery.size
            else:
                self.close(Close.TOO_SLOW)
        else:
            self._enqueue(delivery.frames, size=delivery.size)

    def _control(self, body: str) -> None:
        import json

        control = json.loads(body)
        if "close" in control:
            self.close(control["close"], control.get("code"), control.get("message", ""))
        elif "join" in control:
            self.join_channel(control["join"])
        elif "leave" in control:
            self.leave_channel(control["leave"])

    # -- frames -------------------------------------------------------------------------------

    def reply(self, frame: str) -> None:
        """Send a reply frame (in turn with the events, through the outbox)."""
        self._enqueue(frame)

    def _enqueue(self, frames: Outgoing, size: int | None = None) -> None:
        """Queue a frame, or a block of frames shared with other sessions (handed over as one,
        so that its bytes are made once for all of them: ``api.serving``); ``size``: their
        length, where the caller has it. A client that lets more pile up than the limits allow
        is closed with 4001, whatever its frames' size: a large message to many members that do
        not read could otherwise hold their memory."""
        block = texts_of(frames)
        size = sum(map(len, block)) if size is None else size
        if not self._fits(len(block), size):
            self.close(Close.TOO_SLOW)
            return
        self._outbox.append(frames)
        self._outbox_frames += len(block)
        self._outbox_size += size
        if not self._hand_over_scheduled:
            self._hand_over_scheduled = True
            self.node.hand_overs.add(self)

    def _fits(self, frames: int, size: int) -> bool:
        """Whether ``frames`` more frames, ``size`` long in all, stay within the outbox's limits;
        events held during a replay count as queued: a client that does not read while its
        missed messages are replayed must not make the server hold its live ones unbounded."""
        return (
            self._outbox_frames + self._held_frames + frames <= OUTBOX_FRAMES
            and self._outbox_size + self._held_size + size <= OUTBOX_BYTES
        )

    def hand_over(self) -> None:
        """Once per turn of the event loop with frames queued (``HandOvers``): hand them all to
        the server at once (``SEND_TEXTS``), with no task to wake; where it cannot take them now
        (or there is no such extension), the send loop sends them through ASGI, waiting as that
        does."""
        self._hand_over_scheduled = False
        if not self._outbox:
            return
        if self._sending_through_asgi or not self._hand_over_all():
            self._sending_through_asgi = True  # until the outbox is empty: order is kept
            self._outbox_filled.set()

    def _hand_over_all(self) -> bool:
        """Hand the whole outbox to the server (``SEND_TEXTS``) and empty it, if it takes the
        frames now."""
        if self._send_texts is None or not self._send_texts(self._outbox):
            return False
        self._outbox.clear()
        self._outbox_frames = self._outbox_size = 0
        return True

    async def _send_loop(self) -> None:
        with contextlib.suppress(WebSocketDisconnect, OSError, RuntimeError):
            while True:
                await self._outbox_filled.wait()
                self._outbox_filled.clear()
                await self._send_outbox()
                self._sending_through_asgi = False

    async def _send_outbox(self) -> None:
        """Send every queued frame: all at once where the server takes them so (``SEND_TEXTS``,
        ``api.serving``), else one ASGI message each."""
        while self._outbox:
            if not self._hand_over_all():
                block = texts_of(self._outbox.popleft())
                self._outbox_frames -= len(block)
                self._outbox_size -= sum(map(len, block))
                for frame in block:
                    await self.websocket.send_text(frame)

    async def _flush(self) -> None:
        """Send what is still queued (say, ``tokenExpired``) before the close frame."""
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1.0):
                await self._send_outbox()

    async def _receive_text(self) -> str:
        message = await self.websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        text = message.get("text")
        if text is None:
            raise _Closing(Close.PROTOCOL_ERROR, 20001, "frames must be text")
        return str(text)

    def _parse(self, text: str) -> protocol.Request:
        try:
            return protocol.parse_request(text)
        except ProtocolError as error:
            raise _Closing(Close.PROTOCOL_ERROR, error.code, error.message) from None

    async def _receive_loop(self, resume: dict[str, Any]) -> None:
        try:
            await self._replay(resume)
            self.arm_token_timers()
            await self._serve_requests()
        except _Closing as closing:
            self.close(closing.code, closing.twilio_code, closing.message)
        except (WebSocketDisconnect, OSError, RuntimeError):
            pass

    async def _serve_requests(self) -> None:
        while True:
            request = self._parse(await self._receive_text())
            allowed = self._allow()
            if allowed and request.cmd == "sendMessage":
                await self._make_room()
                self._sending.append(self.node.writer.submit(self, request.id, request.args))
                continue
            # Whatever comes after a send sees it committed, and is answered after it.
            if self._sending:
                await self._sending[-1]
                self._sending.clear()
            if allowed:
                self._enqueue(await self._answer(request))
            else:
                self._enqueue(
                    protocol.error_reply(request.id, _RateLimited("Too many requests: slow down"))
                )

    async def _make_room(self) -> None:
        while self._sending and self._sending[0].done():
            self._sending.popleft()
        if len(self._sending) >= SENDS_IN_FLIGHT:
            await self._sending.popleft()

    def _allow(self) -> bool:
        """A token bucket: ``node.rate`` requests a second, bursts of ``node.burst``.

        A session refused more than ``node.burst`` times within ``FLOOD_WINDOW`` seconds is
        flooding, not bursting, and is closed.
        """
        now = time.monotonic()
        self._bucket = min(self.node.burst, self._bucket + (now - self._bucket_at) * self.node.rate)
        self._bucket_at = now
        if self._bucket >= 1:
            self._bucket -= 1
            return True
        if now - self._refused_since > FLOOD_WINDOW:
            self._refused_since, self._refused = now, 0
        self._refused += 1
        if self._refused > self.node.burst:
            raise _Closing(Close.FLOOD, 20429, "far over the request rate limit")
        return False

    async def _answer(self, request: protocol.Request) -> str:
        from backchannel.realtime.commands import COMMANDS

        command = COMMANDS.get(request.cmd)
        try:
            if command is None:
                raise BadRequestError(f"unknown command {request.cmd[:64]!r}")
            return protocol.reply(request.id, await command(self, request.args))
        except BackchannelError as error:
            return protocol.error_reply(request.id, error)
        except Exception:
            log.exception("command %s failed", request.cmd[:64])
            return protocol.error_reply(request.id, InternalError("internal error"))


class _RateLimited(BackchannelError):
    code = 20429
    status = 429
