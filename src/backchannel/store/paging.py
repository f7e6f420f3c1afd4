"""Keyset paging: a page of rows after (or before) an opaque cursor, never OFFSET.

A list orders by one unique integer column (``id``, or ``index`` for messages). A ``Cursor`` is
the key of the row a page starts after (forwards) or ends before (backwards); it travels as an
opaque ``PageToken``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from backchannel.chat.errors import InvalidParameterError

# Every key column (``id``, ``index``) is a 32-bit INTEGER; a larger key in a token would make
# the database refuse the query rather than answer an empty page.
MAX_KEY = 2**31 - 1


@dataclass(frozen=True, slots=True)
class Cursor:
    key: int
    backwards: bool = False

    def token(self) -> str:
        raw = f"{'B' if self.backwards else 'F'}{self.key}".encode()
        return "PT" + base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def from_token(cls, token: str) -> Cursor:
        try:
            if not token.startswith("PT") or len(token) > 64:
                raise ValueError
            body = token[2:]
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode("ascii")
            direction, key = raw[0], raw[1:]
            if direction not in "FB" or not key.isdigit() or len(key) > 10:
                raise ValueError
            number = int(key)
            if number > MAX_KEY:
                raise ValueError
        except (ValueError, IndexError, binascii.Error, UnicodeDecodeError):
            raise InvalidParameterError("PageToken is not valid") from None
        return cls(number, backwards=direction == "B")


@dataclass(frozen=True, slots=True)
class Page:
    rows: Sequence[RowMapping]
    next: Cursor | None
    previous: Cursor | None


async def fetch_page(
    conn: AsyncConnection,
    query: Select[Any],
    key: Any,
    *,
    size: int,
    cursor: Cursor | None = None,
    descending: bool = False,
) -> Page:
    """One page of ``query`` ordered by the column ``key`` (which the query must select)."""
    backwards = cursor is not None and cursor.backwards
    reverse = descending != backwards  # walk the key downwards?
    if cursor is not None:
        query = query.where(key < cursor.key if reverse else key > cursor.key)
    query = query.order_by(key.desc() if reverse else key.asc()).limit(size + 1)
    rows = list((await conn.execute(query)).mappings())
    more = len(rows) > size
    rows = rows[:size]
    name = key.name
    if backwards:
        rows.reverse()
        return Page(
            rows,
            next=Cursor(rows[-1][name]) if rows else None,
            previous=Cursor(rows[0][name], backwards=True) if rows and more else None,
        )
    return Page(
        rows,
        next=Cursor(rows[-1][name]) if rows and more else None,
        previous=Cursor(rows[0][name], backwards=True) if rows and cursor is not None else None,
    )
