"""Channels of a service, found by SID or by unique name.

A channel read here also carries ``last_message_sid`` (its message with the highest index, or
None). ``members_count`` and ``messages_count`` change only by SQL arithmetic; deleting a
channel removes its members, messages and invites, and each member's user counts one joined
channel fewer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from backchannel.chat.errors import UniqueNameTakenError
from backchannel.chat.sids import CHANNEL, is_sid, new_sid
from backchannel.store import counters
from backchannel.store.clock import utcnow
from backchannel.store.paging import Cursor, Page, fetch_page
from backchannel.store.tables import channels, members, messages, users
from backchannel.store.text import could_be_name

COLUMNS = tuple(c for c in channels.c if c.name != "id")

_LAST_MESSAGE = (
    select(messages.c.sid)
    .where(messages.c.channel_sid == channels.c.sid)
    .order_by(messages.c["index"].desc())
    .limit(1)
    .scalar_subquery()
    .label("last_message_sid")
)


def _select() -> Select[Any]:
    return select(channels.c.id, *COLUMNS, _LAST_MESSAGE)


def _channel(row: Mapping[Any, Any]) -> dict[str, Any]:
    channel = dict(row)
    channel.pop("id", None)
    return channel


async def get_channel(
    conn: AsyncConnection, service_sid: str, sid_or_unique_name: str
) -> dict[str, Any] | None:
    """The channel of the service with this SID, else with this unique name, else None."""
    column = channels.c.sid if is_sid(sid_or_unique_name, CHANNEL) else channels.c.unique_name
    if not could_be_name(sid_or_unique_name, column):
        return None
    query = _select().where(channels.c.service_sid == service_sid, column == sid_or_unique_name)
    row = (await conn.execute(query)).mappings().first()
    return _channel(row) if row else None


async def _check_unique_name(
    conn: AsyncConnection, service_sid: str, name: str | None, own_sid: str | None = None
) -> None:
    if name is None:
        return
    query = select(channels.c.sid).where(
        channels.c.service_sid == service_sid, channels.c.unique_name == name
    )
    found = (await conn.execute(query)).scalar()
    if found is not None and found != own_sid:
        raise _taken(name)


def _taken(name: str) -> UniqueNameTakenError:
    return UniqueNameTakenError(f"Channel with unique name {name[:64]!r} already exists")


async def create_channel(
    conn: AsyncConnection, service_sid: str, values: Mapping[str, Any]
) -> dict[str, Any]:
    """A new channel with the given (validated) columns; 50307 when the unique name is taken."""
    await _check_unique_name(conn, service_sid, values.get("unique_name"))
    sid = new_sid(CHANNEL)
    row = {
        **values,
        "sid": sid,
        "service_sid": service_sid,
        "members_count": 0,
        "messages_count": 0,
        "next_message_index": 0,
    }
    try:
        async with conn.begin_nested():
            await conn.execute(insert(channels).values(**row))
    except IntegrityError:
        raise _taken(values["unique_name"]) from None
    created = await get_channel(conn, service_sid, sid)
    assert created is not None
    return created


async def list_channels(
    conn: AsyncConnection,
    service_sid: str,
    *,
    types: Sequence[str] = (),
    size: int,
    cursor: Cursor | None = None,
) -> tuple[list[dict[str, Any]], Page]:
    query = _select().where(channels.c.service_sid == service_sid)
    if types:
        query = query.where(channels.c.type.in_(types))
    page = await fetch_page(conn, query, channels.c.id, size=size, cursor=cursor)
    return [_channel(row) for row in page.rows], page


async def update_channel(
    conn: AsyncConnection, service_sid: str, sid: str, changes: Mapping[str, Any]
) -> dict[str, Any] | None:
    """Apply validated column changes; ``date_updated`` is now unless the changes set it."""
    if changes:
        await _check_unique_name(conn, service_sid, changes.get("unique_name"), sid)
        try:
            async with conn.begin_nested():
                await conn.execute(
                    update(channels)
                    .where(channels.c.service_sid == service_sid, channels.c.sid == sid)
                    .values(**{"date_updated": utcnow(), **changes})
                )
        except IntegrityError:
            raise _taken(str(changes.get("unique_name"))) from None
    return await get_channel(conn, service_sid, sid)


async def delete_channel(conn: AsyncConnection, service_sid: str, sid: str) -> bool:
    """Delete the channel with its members, messages and invites; False when there is none.

    The channel's row is locked first so that no member joins meanwhile; its members are
    deleted before it (not by cascade) so that exactly the users of the rows this request
    removed count one joined channel fewer.
    """
    locked = (
        select(channels.c.sid)
        .where(channels.c.service_sid == service_sid, channels.c.sid == sid)
        .with_for_update()
    )
    if (await conn.execute(locked)).first() is None:
        return False
    gone = await conn.execute(
        delete(members).where(members.c.channel_sid == sid).returning(members.c.user_sid)
    )
    await counters.subtract(conn, users.c.joined_channels_count, Counter(row[0] for row in gone))
    await conn.execute(delete(channels).where(channels.c.sid == sid))
    return True
