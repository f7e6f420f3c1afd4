"""Live sends, committed in batches: the ``sendMessage`` path of every session of a node.

A session hands each ``sendMessage`` to the node's writer and goes on reading requests; the
writer commits what has queued up meanwhile in one transaction (``Store.write``: on SQLite, on
the event loop in one step), so a busy channel costs a few statements per batch instead of
several per message, and a sender need not wait for one commit before its next message is
taken. What a client can observe is unchanged:

- each send is authorized, validated and idempotent (by its key) exactly as on its own;
- it is acknowledged only after its commit, and the replies come in the order of the requests;
- a channel's messages are published in index order, after their commit, and one sender's
  messages take indexes in the order it sent them.

In a batch, a send is allowed by one query (a member whose channel role grants sendMessage,
``member_may_send``); any other send (a channel not found, a user not a member, a role
without the permission) is decided afterwards on its own, by the general path every command
uses. If a batch's transaction fails
as a whole (a key committed meanwhile by another node, a lost connection, a deadlock), its
sends are each retried on their own.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from backchannel.errors import BackchannelError
from backchannel.realtime import events, message_commands, objects, protocol
from backchannel.realtime.events import Publication
from backchannel.realtime.session import SENDS_IN_FLIGHT, InternalError
from backchannel.store import messages as message_store
from backchannel.store.clock import utcnow

if TYPE_CHECKING:
    from backchannel.realtime.node import Node
    from backchannel.realtime.session import Session

log = logging.getLogger(__name__)

MAX_BATCH = SENDS_IN_FLIGHT  # sends in one transaction: as many as one session may have waiting


@dataclass(slots=True, eq=False)
class _Send:
    session: Session
    request_id: int | None
    args: dict[str, Any]
    done: asyncio.Future[None]
    new: message_commands.NewMessage | None = None  # the arguments, once read
    message: dict[str, Any] | None = None  # the stored message …
    created: bool = False  # … stored by this send (not found by its key)
    error: BackchannelError | None = None
    _encoded: str | None = None

    def encoded(self) -> str:
        """The stored message as the protocol shows it, encoded once for its event and reply."""
        if self._encoded is None:
            assert self.message is not None
            if self.created:  # its attributes text is the one this send encoded
                self._encoded = objects.encoded_message(self.message)
            else:
                self._encoded = protocol.encode(objects.message(self.message))
        return self._encoded

    def reply(self) -> str:
        if self.message is None:
            error = self.error or InternalError("internal error")
            return protocol.error_reply(self.request_id, error)
        result = f'{{"index":{self.message["index"]},"message":{self.encoded()}}}'
        return protocol.reply_encoded(self.request_id, result)


class MessageWriter:
    """One queue of sends per node, written by one task in batches of up to ``MAX_BATCH``."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self._queue: deque[_Send] = deque()
        self._worker: asyncio.Task[None] | None = None

    def submit(
        self, session: Session, request_id: int | None, args: dict[str, Any]
    ) -> asyncio.Future[None]:
        """Queue a ``sendMessage``; the returned future is done once its reply is enqueued."""
        done = asyncio.get_running_loop().create_future()
        self._queue.append(_Send(session, request_id, args, done))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._run(), name="message-writer")
        return done

    async def drain(self) -> None:
        """Return once every send submitted so far has been answered."""
        while self._worker is not None and not self._worker.done():
            await asyncio.shield(self._worker)

    async def _run(self) -> None:
        while self._queue:
            batch = [self._queue.popleft() for _ in range(min(len(self._queue), MAX_BATCH))]
            try:
                await self._write(batch)
            except Exception:
                log.exception("sendMessage: a batch failed")
            for send in batch:
                send.session.reply(send.reply())
                if not send.done.done():  # cancelled if its session's reading was
                    send.done.set_result(None)
            self.node.hand_overs.run()

    async def _write(self, batch: list[_Send]) -> None:
        now = utcnow()
        for send in batch:
            try:
                send.new = message_commands.read_new_message(send.session, send.args, now)
            except BackchannelError as error:
                send.error = error
        pending = [send for send in batch if send.new is not None]
        try:
            undecided = await self.node.store.write(_commit, pending)
        except Exception:
            log.warning(
                "sendMessage: a batch of %d failed; one at a time", len(pending), exc_info=True
            )
            for send in pending:
                send.message, send.created, send.error = None, False, None
            undecided = pending
        else:
            await self._publish([send for send in pending if send.created])
        for send in undecided:
            assert send.new is not None
            try:
                send.message, send.created = await message_commands.send_one(send.session, send.new)
            except BackchannelError as error:
                send.error = error
            except Exception:  # this send's alone: the others of the batch go on
                log.exception("sendMessage failed")
                send.error = InternalError("internal error")
            await self._publish([send] if send.created else [])

    async def _publish(self, created: list[_Send]) -> None:
        """Each message's event, and the end of its sender's typing there, if they were; runs of
        messages with no typing in between go as one broker message."""
        publications: list[Publication] = []
        run: list[_Send] = []
        for send in created:
            assert send.message is not None
            run.append(send)
            channel_sid = send.message["channel_sid"]
            typing_ended = message_commands.stop_typing(send.session, channel_sid)
            if typing_ended:
                publications += _messages_added(run) + typing_ended
                run = []
        publications += _messages_added(run)
        await self.node.publish(publications)


def _messages_added(sends: list[_Send]) -> list[Publication]:
    messages: list[dict[str, Any]] = []
    for send in sends:
        assert send.message is not None
        messages.append(send.message)
    return events.messages_added(messages, [send.encoded() for send in sends])


def _commit(conn: Connection, sends: list[_Send]) -> list[_Send]:
    """Store the sends the one-query check allows (de-duplicated by key); the others, returned,
    are left to the general path."""
    allowed: dict[tuple[str, str, str], str | None] = {}
    originals: dict[tuple[str, str, str], _Send] = {}
    retries: list[tuple[_Send, _Send]] = []
    undecided: list[_Send] = []
    new: dict[tuple[str, str], list[_Send]] = {}
    for send in sends:
        assert send.new is not None
        service_sid, identity = send.session.service["sid"], send.session.identity
        asked = (service_sid, identity, send.new.channel)
        if asked not in allowed:
            allowed[asked] = message_commands.member_may_send(conn, *asked)
        channel_sid = allowed[asked]
        if channel_sid is None:
            undecided.append(send)
            continue
        key = send.new.key
        if key is not None:
            # A key sent before gets that message back: committed earlier, or in this batch.
            keyed = (channel_sid, identity, key)
            if keyed in originals:
                retries.append((send, originals[keyed]))
                continue
            originals[keyed] = send
            send.message = message_commands.message_by_key(conn, *keyed)
            if send.message is not None:
                continue
        new.setdefault((service_sid, channel_sid), []).append(send)
    # Channels in SID order: the lock order every writer follows.
    for (service_sid, channel_sid), group in sorted(new.items(), key=lambda item: item[0][1]):
        values = [send.new.values for send in group if send.new is not None]
        stored = message_store.create_messages(conn, service_sid, channel_sid, values)
        for send, message in zip(group, stored, strict=True):
            send.message, send.created = message, True
    for send, original in retries:
        send.message = original.message
    return undecided
