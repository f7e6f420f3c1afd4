"""Members of a channel, and the counters membership keeps exact.

``add_member`` and ``remove_member`` change the member row, ``channels.members_count`` and the
user's ``joined_channels_count`` together, in one savepoint of the caller's transaction, with
atomic ``col = col ± 1`` updates: concurrent requests on any number of connections cannot lose
a count. A limit is checked by the increment itself (``… WHERE members_count < :limit``), so
it holds under concurrency too; when it would be passed, nothing is stored.

Lock order (PostgreSQL): channel rows, then member rows, then user rows, several rows of one
table in SID order (``counters.lock``) — the order in which deleting a channel, removing a
member and deleting a user (``users.delete_user``) all take them, so that they cannot deadlock
one another. Adding a member inserts its row first (which only key-share locks the channel and
the user, blocking neither counter update); removing one locks the channel first
(``lock_channel``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from backchannel.chat.errors import (
    ChannelFullError,
    ConflictError,
    LimitExceededError,
    MemberExistsError,
)
from backchannel.chat.sids import MEMBER, is_sid, new_sid
from backchannel.store.clock import utcnow
from backchannel.store.paging import Cursor, Page, fetch_page
from backchannel.store.tables import channels, invites, members, users
from backchannel.store.users import ensure_user

_COLUMNS = tuple(c for c in members.c if c.name != "id")


def _exists_error(identity: str) -> MemberExistsError:
    return MemberExistsError(f"Member {identity[:64]!r} already exists in this channel")


async def add_member(
    conn: AsyncConnection,
    *,
    service: Mapping[str, Any],
    channel_sid: str,
    values: Mapping[str, Any],
    channel_members_limit: int,
    user_channels_limit: int,
) -> dict[str, Any]:
    """Add ``values["identity"]`` (with ``role_sid`` and the other member columns) to the
    channel, creating its User with the service's default role if needed.

    Raises ``MemberExistsError`` (already a member), ``ChannelFullError`` or
    ``LimitExceededError`` (a limit is reached); then nothing has changed. A pending invite of
    the identity to the channel is consumed.
    """
    identity = values["identity"]
    if await get_member_by_identity(conn, channel_sid, identity) is not None:
        raise _exists_error(identity)
    service_sid = service["sid"]
    try:
        async with conn.begin_nested():
            user = await ensure_user(
                conn, service_sid, identity, service["default_service_role_sid"]
            )
            row = {
                **values,
                "sid": new_sid(MEMBER),
                "service_sid": service_sid,
                "channel_sid": channel_sid,
                "user_sid": user["sid"],
            }
            await conn.execute(insert(members).values(**row))
            await _count_in(
                conn, channel_sid, user["sid"], channel_members_limit, user_channels_limit
            )
            await conn.execute(
                delete(invites).where(
                    invites.c.channel_sid == channel_sid, invites.c.identity == identity
                )
            )
    except IntegrityError:
        if await get_member_by_identity(conn, channel_sid, identity) is not None:
            # Another request added the same identity between the check and the insert.
            raise _exists_error(identity) from None
        raise ConflictError("The channel changed while the member was being added") from None
    added = await _get(conn, channel_sid, members.c.sid, row["sid"])
    assert added is not None  # inserted by this transaction
    return added


async def _count_in(
    conn: AsyncConnection, channel_sid: str, user_sid: str, channel_limit: int, user_limit: int
) -> None:
    counted = await conn.execute(
        update(channels)
        .where(channels.c.sid == channel_sid, channels.c.members_count < channel_limit)
        .values(members_count=channels.c.members_count + 1)
    )
    if counted.rowcount != 1:
        raise ChannelFullError(f"The channel already has {channel_limit} members")
    counted = await conn.execute(
        update(users)
        .where(users.c.sid == user_sid, users.c.joined_channels_count < user_limit)
        .values(joined_channels_count=users.c.joined_channels_count + 1)
    )
    if counted.rowcount != 1:
        raise LimitExceededError(f"The user has already joined {user_limit} channels")


async def get_member(
    conn: AsyncConnection, channel_sid: str, sid_or_identity: str
) -> dict[str, Any] | None:
    """The member of the channel with this SID, else with this identity, else None."""
    if is_sid(sid_or_identity, MEMBER):
        found = await _get(conn, channel_sid, members.c.sid, sid_or_identity)
        if found is not None:
            return found
    return await get_member_by_identity(conn, channel_sid, sid_or_identity)


async def get_member_by_identity(
    conn: AsyncConnection, channel_sid: str, identity: str
) -> dict[str, Any] | None:
    return await _get(conn, channel_sid, members.c.identity, identity)


async def _get(
    conn: AsyncConnection, channel_sid: str, column: Any, value: str
) -> dict[str, Any] | None:
    query = select(*_COLUMNS).where(members.c.channel_sid == channel_sid, column == value)
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row else None


async def channel_sids_of(conn: AsyncConnection, user_sid: str) -> list[str]:
    """The SIDs of the channels the user is a member of."""
    query = select(members.c.channel_sid).where(members.c.user_sid == user_sid)
    return [row.channel_sid for row in await conn.execute(query)]


async def list_members(
    conn: AsyncConnection,
    channel_sid: str,
    *,
    identities: Sequence[str] = (),
    size: int,
    cursor: Cursor | None = None,
) -> tuple[list[dict[str, Any]], Page]:
    """Members in the order they joined; only those with one of ``identities`` if given."""
    query = select(members.c.id, *_COLUMNS).where(members.c.channel_sid == channel_sid)
    if identities:
        query = query.where(members.c.identity.in_(list(identities)))
    page = await fetch_page(conn, query, members.c.id, size=size, cursor=cursor)
    return [_member(row) for row in page.rows], page


def _member(row: Mapping[Any, Any]) -> dict[str, Any]:
    member = dict(row)
    member.pop("id", None)
    return member


async def update_member(
    conn: AsyncConnection, channel_sid: str, sid: str, changes: Mapping[str, Any]
) -> dict[str, Any] | None:
    """Apply validated column changes; ``date_updated`` is now unless the changes set it."""
    await conn.execute(
        update(members)
        .where(members.c.channel_sid == channel_sid, members.c.sid == sid)
        .values(**{"date_updated": utcnow(), **changes})
    )
    return await get_member(conn, channel_sid, sid)


async def lock_channel(conn: AsyncConnection, channel_sid: str) -> None:
    """Lock the channel row before touching its members or messages and then its counters.

    ``FOR NO KEY UPDATE`` (PostgreSQL; SQLite's transactions are serial already) conflicts with
    a channel delete but not with the key-share locks of rows being inserted in the channel.
    """
    await conn.execute(
        select(channels.c.sid).where(channels.c.sid == channel_sid).with_for_update(key_share=True)
    )


async def remove_member(conn: AsyncConnection, channel_sid: str, sid: str) -> bool:
    """Remove the member and count it out of its channel and its user; False if not there.

    When two requests remove the same member, only the one whose delete took the row counts.
    """
    await lock_channel(conn, channel_sid)
    removed = (
        await conn.execute(
            delete(members)
            .where(members.c.channel_sid == channel_sid, members.c.sid == sid)
            .returning(members.c.user_sid)
        )
    ).first()
    if removed is None:
        return False
    await conn.execute(
        update(channels)
        .where(channels.c.sid == channel_sid)
        .values(members_count=channels.c.members_count - 1)
    )
    await conn.execute(
        update(users)
        .where(users.c.sid == removed.user_sid)
        .values(joined_channels_count=users.c.joined_channels_count - 1)
    )
    return True
