"""Roles of a service: a name, a type (deployment | channel) and a list of permissions."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from backchannel.chat.errors import ConflictError, RoleExistsError
from backchannel.chat.permissions import DefaultRole
from backchannel.chat.sids import ROLE, new_sid
from backchannel.store.clock import utcnow
from backchannel.store.paging import Cursor, Page, fetch_page
from backchannel.store.tables import members, roles, services, users

_COLUMNS = tuple(c for c in roles.c)


def _role(row: Any) -> dict[str, Any]:
    role = dict(row)
    role["permissions"] = json.loads(role["permissions"])
    role.pop("id", None)
    return role


async def create_role(
    conn: AsyncConnection,
    service_sid: str,
    friendly_name: str,
    role_type: str,
    permissions: Sequence[str],
) -> dict[str, Any]:
    now = utcnow()
    values = {
        "sid": new_sid(ROLE),
        "service_sid": service_sid,
        "friendly_name": friendly_name,
        "type": role_type,
        "permissions": json.dumps(list(permissions)),
        "date_created": now,
        "date_updated": now,
    }
    if await _name_taken(conn, service_sid, friendly_name):
        raise RoleExistsError(f"A role named {friendly_name[:64]!r} already exists")
    try:
        async with conn.begin_nested():
            await conn.execute(insert(roles).values(**values))
    except IntegrityError:
        raise RoleExistsError(f"A role named {friendly_name[:64]!r} already exists") from None
    return _role(values)


async def _name_taken(conn: AsyncConnection, service_sid: str, friendly_name: str) -> bool:
    query = select(roles.c.id).where(
        roles.c.service_sid == service_sid, roles.c.friendly_name == friendly_name
    )
    return (await conn.execute(query)).first() is not None


async def create_default_roles(
    conn: AsyncConnection, service_sid: str, defaults: Sequence[DefaultRole]
) -> list[dict[str, Any]]:
    return [
        await create_role(conn, service_sid, role.friendly_name, role.type, role.permissions)
        for role in defaults
    ]


async def get_role(conn: AsyncConnection, service_sid: str, sid: str) -> dict[str, Any] | None:
    query = select(*_COLUMNS).where(roles.c.service_sid == service_sid, roles.c.sid == sid)
    row = (await conn.execute(query)).mappings().first()
    return _role(row) if row else None


async def list_roles(
    conn: AsyncConnection, service_sid: str, *, size: int, cursor: Cursor | None = None
) -> tuple[list[dict[str, Any]], Page]:
    query = select(*_COLUMNS).where(roles.c.service_sid == service_sid)
    page = await fetch_page(conn, query, roles.c.id, size=size, cursor=cursor)
    return [_role(row) for row in page.rows], page


async def set_permissions(
    conn: AsyncConnection, service_sid: str, sid: str, permissions: Sequence[str]
) -> dict[str, Any] | None:
    await conn.execute(
        update(roles)
        .where(roles.c.service_sid == service_sid, roles.c.sid == sid)
        .values(permissions=json.dumps(list(permissions)), date_updated=utcnow())
    )
    return await get_role(conn, service_sid, sid)


async def delete_role(conn: AsyncConnection, service_sid: str, sid: str) -> bool:
    """Delete a role no one holds and no service uses as a default; False when there is none."""
    in_use = (
        select(func.count())
        .select_from(services)
        .where(
            services.c.sid == service_sid,
            or_(
                services.c.default_service_role_sid == sid,
                services.c.default_channel_role_sid == sid,
                services.c.default_channel_creator_role_sid == sid,
            ),
        )
    )
    held = select(func.count()).select_from(users).where(users.c.role_sid == sid)
    held_by_member = select(func.count()).select_from(members).where(members.c.role_sid == sid)
    for query in (in_use, held, held_by_member):
        if (await conn.execute(query)).scalar_one():
            raise ConflictError("The role is in use and cannot be deleted", code=50406)
    result = await conn.execute(
        delete(roles).where(roles.c.service_sid == service_sid, roles.c.sid == sid)
    )
    return bool(result.rowcount)
