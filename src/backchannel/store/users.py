"""Users of a service, one per identity (case-sensitive)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from backchannel.chat.sids import USER, new_sid
from backchannel.store.clock import utcnow
from backchannel.store.tables import users

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
