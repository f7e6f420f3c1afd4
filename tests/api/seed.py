"""Channels written straight into the store, and the counters read back from it.

The Members, Messages and Invites tests need channels without depending on the Channels
endpoint, and they check counters (``members_count``, ``messages_count``,
``next_message_index``, ``joined_channels_count``) that the REST resources may not show.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select

from backchannel.chat.sids import CHANNEL, new_sid
from backchannel.store.clock import utcnow
from backchannel.store.tables import channels, users


def make_channel(server: Any, service_sid: str, unique_name: str | None = None) -> str:
    """A new public channel of the service; its SID."""

    async def run(store: Any) -> str:
        now = utcnow()
        sid = new_sid(CHANNEL)
        async with store.transaction() as conn:
            await conn.execute(
                insert(channels).values(
                    sid=sid,
                    service_sid=service_sid,
                    unique_name=unique_name,
                    friendly_name=None,
                    attributes="{}",
                    type="public",
                    created_by="system",
                    members_count=0,
                    messages_count=0,
                    next_message_index=0,
                    date_created=now,
                    date_updated=now,
                )
            )
        return sid

    return server.run_store(run)


def channel_counters(server: Any, channel_sid: str) -> dict[str, int]:
    async def run(store: Any) -> dict[str, int]:
        query = select(
            channels.c.members_count, channels.c.messages_count, channels.c.next_message_index
        ).where(channels.c.sid == channel_sid)
        async with store.transaction() as conn:
            return dict((await conn.execute(query)).mappings().one())

    return server.run_store(run)


def user_row(server: Any, service_sid: str, identity: str) -> dict[str, Any] | None:
    """The stored user with this identity; None when there is none."""

    async def run(store: Any) -> dict[str, Any] | None:
        query = select(users).where(
            users.c.service_sid == service_sid, users.c.identity == identity
        )
        async with store.transaction() as conn:
            row = (await conn.execute(query)).mappings().first()
        return dict(row) if row else None

    return server.run_store(run)


def joined_channels(server: Any, service_sid: str, identity: str) -> int | None:
    """The user's ``joined_channels_count``; None when there is no such user."""
    user = user_row(server, service_sid, identity)
    return None if user is None else int(user["joined_channels_count"])


def count_rows(server: Any, table: Any, **where: str) -> int:
    """How many rows of ``table`` have the column values given."""

    async def run(store: Any) -> int:
        query = select(func.count()).select_from(table)
        for column, value in where.items():
            query = query.where(table.c[column] == value)
        async with store.transaction() as conn:
            return int((await conn.execute(query)).scalar_one())

    return server.run_store(run)
