"""Counter columns (``members_count``, ``messages_count``, ``joined_channels_count``).

Counters change only by SQL arithmetic (``col = col - n``) in the statement that touches the
row, so concurrent requests never lose an update the way read-change-write in Python would.

Rows are locked in SID order before a batch of them changes (``lock``): two requests that
update overlapping sets of rows (two channel deletes sharing users) then take the shared rows
in the same order and cannot deadlock, whatever order the ``UPDATE``'s plan would visit them in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Column, Table, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

_CHUNK = 500  # SIDs per IN (...) list, well under every driver's parameter limit


async def lock(conn: AsyncConnection, table: Table, sids: Iterable[str]) -> None:
    """Lock the rows of ``table`` with these SIDs ``FOR NO KEY UPDATE``, in SID order.

    PostgreSQL takes the locks in the order the rows are returned (``ORDER BY`` is applied
    before the locking clause). SQLite has no row locks: its transactions are serial already.
    """
    ordered = sorted(set(sids))
    for start in range(0, len(ordered), _CHUNK):
        await conn.execute(
            select(table.c.sid)
            .where(table.c.sid.in_(ordered[start : start + _CHUNK]))
            .order_by(table.c.sid)
            .with_for_update(key_share=True)
        )


async def subtract(conn: AsyncConnection, column: Column[Any], amounts: Mapping[str, int]) -> None:
    """``column = column - n`` on the rows of ``column``'s table, ``n`` per row SID."""
    table = column.table
    assert isinstance(table, Table)
    await lock(conn, table, amounts)
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
