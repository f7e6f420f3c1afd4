"""Channels of a service, found by SID or by unique name."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from backchannel.chat.sids import CHANNEL, is_sid
from backchannel.store.tables import channels

COLUMNS = tuple(c for c in channels.c if c.name != "id")


async def get_channel(
    conn: AsyncConnection, service_sid: str, sid_or_unique_name: str
) -> dict[str, Any] | None:
    """The channel of the service with this SID, else with this unique name, else None."""
    column = channels.c.sid if is_sid(sid_or_unique_name, CHANNEL) else channels.c.unique_name
    query = select(*COLUMNS).where(
        channels.c.service_sid == service_sid, column == sid_or_unique_name
    )
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row else None
