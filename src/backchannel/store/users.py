"""Users of a service, one per identity (case-sensitive), found by SID or by identity.

``joined_channels_count`` is a counter kept by SQL arithmetic (``col = col ± n``) wherever a
membership comes or goes, never read, changed and written back.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from backchannel.chat.errors import UserExistsError
from backchannel.chat.sids import USER, is_sid, new_sid
from backchannel.store import counters
from backchannel.store.clock import utcnow
from backchannel.store.paging import Cursor, Page, fetch_page
from backchannel.store.tables import channels, members, users
from backchannel.store.text import could_be_name

_COLUMNS = tuple(c for c in users.c if c.name != "id")


async def get_user_by_identity(
    conn: AsyncConnection, service_sid: str, identity: str
) -> dict[str, Any] | None:
    query = select(*_COLUMNS).where(
        users.c.service_sid == service_sid, users.c.identity == identity
    )
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row else None


async def ensure_user(
    conn: AsyncConnection, service_sid: str, identity: str, role_sid: str
) -> dict[str, Any]:
    """The user with this identity, created with ``role_sid`` if there is none yet.

    Safe when two first requests for one identity race: the loser reads the winner's row.
    """
    existing = await get_user_by_identity(conn, service_sid, identity)
    if existing is not None:
        return existing
    now = utcnow()
    values = {
        "sid": new_sid(USER),
        "service_sid": service_sid,
        "identity": identity,
        "role_sid": role_sid,
        "friendly_name": None,
        "attributes": "{}",
        "joined_channels_count": 0,
        "is_online": None,
        "is_notifiable": None,
        "date_created": now,
        "date_updated": now,
    }
    try:
        async with conn.begin_nested():
            await conn.execute(insert(users).values(**values))
    except IntegrityError:
        existing = await get_user_by_identity(conn, service_sid, identity)
        if existing is None:
            raise
        return existing
    return values


async def get_user(
    conn: AsyncConnection, service_sid: str, sid_or_identity: str
) -> dict[str, Any] | None:
    """The user of the service with this SID, else with this identity, else None."""
    if not is_sid(sid_or_identity, USER):
        if not could_be_name(sid_or_identity, users.c.identity):
            return None
        return await get_user_by_identity(conn, service_sid, sid_or_identity)
    query = select(*_COLUMNS).where(
        users.c.service_sid == service_sid, users.c.sid == sid_or_identity
    )
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row else None


async def create_user(
    conn: AsyncConnection,
    service_sid: str,
    identity: str,
    role_sid: str,
    *,
    friendly_name: str | None = None,
    attributes: str = "{}",
) -> dict[str, Any]:
    """A new user; ``UserExistsError`` when the identity is taken, even by a racing request."""
    if await get_user_by_identity(conn, service_sid, identity) is not None:
        raise UserExistsError(_taken(identity))
    now = utcnow()
    values = {
        "sid": new_sid(USER),
        "service_sid": service_sid,
        "identity": identity,
        "role_sid": role_sid,
        "friendly_name": friendly_name,
        "attributes": attributes,
        "joined_channels_count": 0,
        "is_online": None,
        "is_notifiable": None,
        "date_created": now,
        "date_updated": now,
    }
    try:
        async with conn.begin_nested():
            await conn.execute(insert(users).values(**values))
    except IntegrityError:
        raise UserExistsError(_taken(identity)) from None
    return values


def _taken(identity: str) -> str:
    return f"User with identity {identity[:64]!r} already exists"


async def list_users(
    conn: AsyncConnection, service_sid: str, *, size: int, cursor: Cursor | None = None
) -> tuple[list[dict[str, Any]], Page]:
    query = select(users.c.id, *_COLUMNS).where(users.c.service_sid == service_sid)
    page = await fetch_page(conn, query, users.c.id, size=size, cursor=cursor)
    return [_without_id(row) for row in page.rows], page


def _without_id(row: Mapping[Any, Any]) -> dict[str, Any]:
    user = dict(row)
    user.pop("id", None)
    return user


async def update_user(
    conn: AsyncConnection, service_sid: str, sid: str, changes: Mapping[str, Any]
) -> dict[str, Any] | None:
    """Apply already validated column changes; None when there is no such user."""
    if changes:
        await conn.execute(
            update(users)
            .where(users.c.service_sid == service_sid, users.c.sid == sid)
            .values(**changes, date_updated=utcnow())
        )
    return await get_user(conn, service_sid, sid)


async def delete_user(
    conn: AsyncConnection, service_sid: str, sid: str
) -> list[dict[str, Any]] | None:
    """Delete the user and its memberships; each channel it left counts one member fewer. The
    member rows removed, or None when there is no such user.

    Channels before users, as deleting a channel or removing a member takes them (the lock
    order of ``store.members``), so that neither can deadlock with this: first the user's
    channels (in SID order), then the user's row, which keeps memberships from being added
    meanwhile, then the member rows (whoever else locks one of those together with other rows
    has locked its channel first). The memberships are deleted before the user (not by cascade)
    so that exactly the rows this request removed are subtracted from their channels' counters.

    A membership added between reading the channels and locking the user has its channel
    locked last, out of order: the one window left in which PostgreSQL may still detect a
    deadlock (the REST API retries the request then, ``api.calls``).
    """
    member_of = select(members.c.channel_sid).where(members.c.user_sid == sid)
    await counters.lock(conn, channels, [row[0] for row in await conn.execute(member_of)])
    locked = (
        select(users.c.sid)
        .where(users.c.service_sid == service_sid, users.c.sid == sid)
        .with_for_update()
    )
    if (await conn.execute(locked)).first() is None:
        return None
    removed = delete(members).where(members.c.user_sid == sid).returning(*members.c)
    gone = [dict(row) for row in (await conn.execute(removed)).mappings()]
    left = Counter(member["channel_sid"] for member in gone)
    await counters.subtract(conn, channels.c.members_count, left)
    await conn.execute(delete(users).where(users.c.sid == sid))
    return gone
