"""Counter columns (``members_count``, ``messages_count``, ``joined_channels_count``).

Counters change only by SQL arithmetic (``col = col - n``) in the statement that touches the
row, so concurrent requests never lose an update the way read-change-write in Python would.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Column, update
from sqlalchemy.ext.asyncio import AsyncConnection

_CHUNK = 500  # SIDs per IN (...) list, well under every driver's parameter limit


async def subtract(conn: AsyncConnection, column: Column[Any], amounts: Mapping[str, int]) -> None:
    """``column = column - n`` on the rows of ``column``'s table, ``n`` per row SID."""
    table = column.table
    by_amount: dict[int, list[str]] = {}
    for sid, amount in amounts.items():
        by_amount.setdefault(amount, []).append(sid)
    for amount, sids in by_amount.items():
        for start in range(0, len(sids), _CHUNK):
            await conn.execute(
                update(table)
                .where(table.c.sid.in_(sids[start : start + _CHUNK]))
                .values({column.name: column - amount})
            )
