"""The live sessions of one server process, and what they share: store, broker, clock, limits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import select, update
from starlette.websockets import WebSocket

from backchannel.realtime import events
from backchannel.realtime.broker import Broker
from backchannel.realtime.events import Publication
from backchannel.realtime.message_writer import MessageWriter
from backchannel.realtime.protocol import Close
from backchannel.realtime.session import HandOvers, Session
from backchannel.store import Store
from backchannel.store.tables import members, messages, users
from backchannel.store.users import get_user

MAX_REPLAY = 10_000  # messages sent per channel on resume; older history is for getMessages


class Node:
    """Accepts WebSocket sessions; ``shutdown`` asks every one of them to reconnect elsewhere."""

    def __init__(
        self,
        store: Store,
        broker: Broker,
        *,
        clock: Callable[[], float] = time.time,
        rate: float = 100.0,
        burst: int = 200,
    ) -> None:
        self.store = store
        self.broker = broker
        self.clock = clock
        self.rate = rate
        self.burst = burst
        self.sessions: set[Session] = set()
        self.hand_overs = HandOvers()
        self.writer = MessageWriter(self)

    async def serve(self, websocket: WebSocket) -> None:
        await Session(self, websocket).run()

    def adopt(self, session: Session) -> None:
        self.sessions.add(session)

    def forget(self, session: Session) -> None:
        self.sessions.discard(session)

    async def presence(self, session: Session, delta: int) -> None:
        """Count a session of the user in (+1) or out (-1); tell others when they come or go.

        Only when the service enables reachability. The count is kept in the database, so it
        spans nodes; ``is_online`` changes when it moves between 0 and 1.
        """
        service = session.service
        if not service["reachability_enabled"]:
            return
        user_sid = session.user["sid"]
        if delta > 0:
            session.user["is_online"] = True
        async with self.store.transaction() as conn:
            count = (
                await conn.execute(
                    update(users)
                    .where(users.c.sid == user_sid)
                    .values(online_sessions=users.c.online_sessions + delta)
                    .returning(users.c.online_sessions)
                )
            ).scalar_one_or_none()
            if count is None or count > 1 or (count == 1 and delta < 0):
                return
            await conn.execute(
                update(users).where(users.c.sid == user_sid).values(is_online=count > 0)
            )
            user = await get_user(conn, service["sid"], user_sid)
        if user is not None:
            await self.publish(events.user_updated(user, ["is_online"], list(session.channels)))

    async def forget_presence(self) -> None:
        """Count every user offline: for a lone node starting up, no session can be left."""
        async with self.store.transaction() as conn:
            await conn.execute(
                update(users).where(users.c.online_sessions != 0).values(online_sessions=0)
            )
            await conn.execute(update(users).where(users.c.is_online).values(is_online=False))

    async def publish(self, publications: Iterable[Publication]) -> None:
        """Raise events (``realtime.events``) that a committed change caused."""
        for topic, message in publications:
            await self.broker.publish(topic, message)

    async def shutdown(self, timeout: float = 5.0) -> None:
        for session in list(self.sessions):
            session.close(Close.SERVER_RESTART)
        deadline = time.monotonic() + timeout
        while self.sessions and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        await self.writer.drain()

    async def member_channels(self, user_sid: str) -> list[str]:
        async with self.store.transaction() as conn:
            rows = await conn.execute(
                select(members.c.channel_sid).where(members.c.user_sid == user_sid)
            )
            return [row.channel_sid for row in rows]

    async def messages_after(self, channel_sid: str, index: int) -> list[dict[str, Any]]:
        columns = [c for c in messages.c if c.name != "id"]
        async with self.store.transaction() as conn:
            rows = await conn.execute(
                select(*columns)
                .where(messages.c.channel_sid == channel_sid, messages.c.index > index)
                .order_by(messages.c.index)
                .limit(MAX_REPLAY)
            )
            return [dict(row) for row in rows.mappings()]
