"""Chat Services of an account. Creating one also creates its four default roles."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from backchannel.chat import permissions
from backchannel.chat.services import new_service_settings
from backchannel.chat.sids import SERVICE, new_sid
from backchannel.store.clock import utcnow
from backchannel.store.paging import Cursor, Page, fetch_page
from backchannel.store.roles import create_default_roles
from backchannel.store.tables import services

JSON_COLUMNS = ("limits", "notifications", "media", "webhook_filters")
_COLUMNS = tuple(c for c in services.c)


def _service(row: Mapping[Any, Any]) -> dict[str, Any]:
    service = dict(row)
    service.pop("id", None)
    for column in JSON_COLUMNS:
        service[column] = json.loads(service[column])
    return service


def _encoded(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: json.dumps(v) if k in JSON_COLUMNS else v for k, v in values.items()}


async def create_service(
    conn: AsyncConnection, account_sid: str, friendly_name: str
) -> dict[str, Any]:
    now = utcnow()
    sid = new_sid(SERVICE)
    values = {
        "sid": sid,
        "account_sid": account_sid,
        "friendly_name": friendly_name,
        **new_service_settings(),
        "date_created": now,
        "date_updated": now,
    }
    await conn.execute(insert(services).values(**_encoded(values)))
    _admin, user, channel_admin, channel_user = await create_default_roles(
        conn, sid, permissions.DEFAULT_ROLES
    )
    defaults = {
        "default_service_role_sid": user["sid"],
        "default_channel_role_sid": channel_user["sid"],
        "default_channel_creator_role_sid": channel_admin["sid"],
    }
    await conn.execute(update(services).where(services.c.sid == sid).values(**defaults))
    return {**values, **defaults}


async def get_service(conn: AsyncConnection, account_sid: str, sid: str) -> dict[str, Any] | None:
    """The service, if it exists and belongs to the account."""
    query = select(*_COLUMNS).where(services.c.sid == sid, services.c.account_sid == account_sid)
    row = (await conn.execute(query)).mappings().first()
    return _service(row) if row else None


async def list_services(
    conn: AsyncConnection, account_sid: str, *, size: int, cursor: Cursor | None = None
) -> tuple[list[dict[str, Any]], Page]:
    query = select(*_COLUMNS).where(services.c.account_sid == account_sid)
    page = await fetch_page(conn, query, services.c.id, size=size, cursor=cursor)
    return [_service(row) for row in page.rows], page


async def update_service(
    conn: AsyncConnection, account_sid: str, sid: str, changes: Mapping[str, Any]
) -> dict[str, Any] | None:
    """Apply already validated changes (JSON parts as objects); None if there is no service."""
    if changes:
        await conn.execute(
            update(services)
            .where(services.c.sid == sid, services.c.account_sid == account_sid)
            .values(**_encoded(changes), date_updated=utcnow())
        )
    return await get_service(conn, account_sid, sid)


async def delete_service(conn: AsyncConnection, account_sid: str, sid: str) -> bool:
    """Delete the service and, by cascade, everything in it."""
    result = await conn.execute(
        delete(services).where(services.c.sid == sid, services.c.account_sid == account_sid)
    )
    return bool(result.rowcount)
