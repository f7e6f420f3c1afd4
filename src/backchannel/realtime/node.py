"""The live sessions of one server process, and what they share: store, broker, clock, limits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import select
from starlette.websockets import WebSocket

from backchannel.realtime.broker import Broker
from backchannel.realtime.events import Publication
from backchannel.realtime.protocol import Close
from backchannel.realtime.session import Session
from backchannel.store import Store
from backchannel.store.tables import members, messages

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

    async def serve(self, websocket: WebSocket) -> None:
        await Session(self, websocket).run()

    def adopt(self, session: Session) -> None:
        self.sessions.add(session)

    def forget(self, session: Session) -> None:
        self.sessions.discard(session)

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
