"""A user's channels: its rows of ``members``, seen from the user's side.

Each carries ``unread_messages_count``: the channel's messages with an index above the
member's ``last_consumed_message_index``, or None while the member has consumed nothing (as
Twilio reports it). Leaving is removing the member (``store.members.remove_member``: the
channel's row locked first, then the counters by SQL arithmetic).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from backchannel.store.members import remove_member
from backchannel.store.paging import Cursor, Page, fetch_page
from backchannel.store.tables import members, messages

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


async def leave_channel(
    conn: AsyncConnection, user_sid: str, channel_sid: str
) -> dict[str, Any] | None:
    """Remove the user's member row from the channel: the member removed, or None when the
    user was not (or, because of a concurrent request, is no longer) a member."""
    columns = [c for c in members.c if c.name != "id"]
    query = select(*columns).where(
        members.c.user_sid == user_sid, members.c.channel_sid == channel_sid
    )
    row = (await conn.execute(query)).mappings().first()
    if row is None or not await remove_member(conn, channel_sid, row["sid"]):
        return None
    return dict(row)
