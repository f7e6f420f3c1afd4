"""Messages of a channel, each with its ``index``: from 0, strictly increasing, never reused.

``create_messages`` takes the indexes from the channel row with one atomic
``UPDATE … SET next_message_index = next_message_index + n … RETURNING``, which also counts the
messages in ``messages_count``; the row lock serialises concurrent creates on one channel, so no
two messages share an index and none is skipped. ``delete_message`` counts the message out but
leaves ``next_message_index`` alone, so a deleted message's index is never given again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Integer, bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from backchannel.chat.errors import ChannelNotFoundError
from backchannel.chat.sids import MESSAGE, new_ordered_sids
from backchannel.store import db
from backchannel.store.members import lock_channel
from backchannel.store.paging import Cursor, Page, fetch_page
from backchannel.store.tables import channels, messages

_COLUMNS = tuple(c for c in messages.c if c.name != "id")
INDEX = messages.c["index"]

# create_messages' statements, built once.
_ALLOCATE = (
    update(channels)
    .where(channels.c.sid == bindparam("channel"), channels.c.service_sid == bindparam("service"))
    .values(
        next_message_index=channels.c.next_message_index + bindparam("count", type_=Integer),
        messages_count=channels.c.messages_count + bindparam("count", type_=Integer),
    )
    .returning(channels.c.next_message_index)
)
_INSERT = insert(messages).values({c.name: bindparam(c.name, type_=c.type) for c in _COLUMNS})


async def create_message(
    conn: AsyncConnection, service_sid: str, channel_sid: str, values: Mapping[str, Any]
) -> dict[str, Any]:
    """Store a message (validated columns but SID, channel and index) at the channel's end."""
    (created,) = await conn.run_sync(create_messages, service_sid, channel_sid, [values])
    return created


def create_messages(
    conn: Connection,
    service_sid: str,
    channel_sid: str,
    values: Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """Store messages at the channel's end, in the given order, with consecutive indexes.

    Two statements however many there are: one update takes their indexes, one insert stores
    them. The rows returned are what a select would read back (all columns but ``id``).
    Synchronous, for the live message writer (``Store.write``); ``create_message`` runs it on an
    ``AsyncConnection``.
    """
    if not values:
        return []
    allocated = db.fetch(
        conn, _ALLOCATE, {"channel": channel_sid, "service": service_sid, "count": len(values)}
    )
    if not allocated:
        raise ChannelNotFoundError(f"Channel {channel_sid} not found")
    first = allocated[0][0] - len(values)
    sids = new_ordered_sids(MESSAGE, len(values))
    rows = [
        {
            "key": None,
            **columns,
            "sid": sids[n],
            "service_sid": service_sid,
            "channel_sid": channel_sid,
            "to": channel_sid,
            "index": first + n,
        }
        for n, columns in enumerate(values)
    ]
    db.execute_many(conn, _INSERT, rows)
    return rows


async def get_message(conn: AsyncConnection, channel_sid: str, sid: str) -> dict[str, Any] | None:
    query = select(*_COLUMNS).where(messages.c.channel_sid == channel_sid, messages.c.sid == sid)
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row else None


async def list_messages(
    conn: AsyncConnection,
    channel_sid: str,
    *,
    descending: bool = False,
    size: int,
    cursor: Cursor | None = None,
) -> tuple[list[dict[str, Any]], Page]:
    """Messages by index, oldest first (or newest first when ``descending``)."""
    query = select(*_COLUMNS).where(messages.c.channel_sid == channel_sid)
    page = await fetch_page(conn, query, INDEX, size=size, cursor=cursor, descending=descending)
    return [dict(row) for row in page.rows], page


async def update_message(
    conn: AsyncConnection, channel_sid: str, sid: str, changes: Mapping[str, Any]
) -> dict[str, Any] | None:
    """Apply validated column changes; None if there is no such message."""
    if changes:
        await conn.execute(
            update(messages)
            .where(messages.c.channel_sid == channel_sid, messages.c.sid == sid)
            .values(**changes)
        )
    return await get_message(conn, channel_sid, sid)


async def delete_message(conn: AsyncConnection, channel_sid: str, sid: str) -> bool:
    """Delete the message and count it out of the channel; False if it was not there."""
    await lock_channel(conn, channel_sid)
    removed = await conn.execute(
        delete(messages).where(messages.c.channel_sid == channel_sid, messages.c.sid == sid)
    )
    if removed.rowcount != 1:
        return False
    await conn.execute(
        update(channels)
        .where(channels.c.sid == channel_sid)
        .values(messages_count=channels.c.messages_count - 1)
    )
    return True
