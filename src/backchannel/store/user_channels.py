"""A user's channels: its rows of ``members``, seen from the user's side.

Each carries ``unread_messages_count``: the channel's messages with an index above the
member's ``last_consumed_message_index``, or None while the member has consumed nothing (as
Twilio reports it). Leaving deletes the member row and takes one off the channel's
``members_count`` and the user's ``joined_channels_count``, by SQL arithmetic.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from backchannel.store.paging import Cursor, Page, fetch_page
from backchannel.store.tables import channels, members, messages, users

_UNREAD = (
    select(func.count())
    .select_from(messages)
    .where(
        messages.c.channel_sid == members.c.channel_sid,
        messages.c["index"] > members.c.last_consumed_message_index,
    )
    .scalar_subquery()
    .label("unread_messages_count")
)


def _select() -> Select[Any]:
    return select(
        members.c.id,
        members.c.sid.label("member_sid"),
        members.c.service_sid,
        members.c.channel_sid,
        members.c.user_sid,
        members.c.last_consumed_message_index,
        members.c.last_consumption_timestamp,
        _UNREAD,
    )


def _user_channel(row: Mapping[Any, Any]) -> dict[str, Any]:
    found = dict(row)
    found.pop("id", None)
    if found["last_consumed_message_index"] is None:
        found["unread_messages_count"] = None
    return found


async def list_user_channels(
    conn: AsyncConnection, user_sid: str, *, size: int, cursor: Cursor | None = None
) -> tuple[list[dict[str, Any]], Page]:
    """The user's memberships, in the order they were made."""
    query = _select().where(members.c.user_sid == user_sid)
    page = await fetch_page(conn, query, members.c.id, size=size, cursor=cursor)
    return [_user_channel(row) for row in page.rows], page


async def get_user_channel(
    conn: AsyncConnection, user_sid: str, channel_sid: str
) -> dict[str, Any] | None:
    query = _select().where(members.c.user_sid == user_sid, members.c.channel_sid == channel_sid)
    row = (await conn.execute(query)).mappings().first()
    return _user_channel(row) if row else None


async def update_user_channel(
    conn: AsyncConnection, user_sid: str, channel_sid: str, changes: Mapping[str, Any]
) -> dict[str, Any] | None:
    """Set validated member columns (the consumption horizon); None when not a member."""
    if changes:
        await conn.execute(
            update(members)
            .where(members.c.user_sid == user_sid, members.c.channel_sid == channel_sid)
            .values(**changes)
        )
    return await get_user_channel(conn, user_sid, channel_sid)


async def leave_channel(conn: AsyncConnection, user_sid: str, channel_sid: str) -> bool:
    """Remove the user's member row from the channel; False when it was not a member."""
    gone = await conn.execute(
        delete(members)
        .where(members.c.user_sid == user_sid, members.c.channel_sid == channel_sid)
        .returning(members.c.sid)
    )
    count = len(gone.all())
    if not count:
        return False
    await conn.execute(
        update(channels)
        .where(channels.c.sid == channel_sid)
        .values(members_count=channels.c.members_count - count)
    )
    await conn.execute(
        update(users)
        .where(users.c.sid == user_sid)
        .values(joined_channels_count=users.c.joined_channels_count - count)
    )
    return True
