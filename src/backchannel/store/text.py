"""Which strings a text column could hold, checked before they reach the database.

A name taken from a URL path (an identity, a unique name) may be anything; PostgreSQL refuses
NUL characters outright and a value longer than the column can never match, so such a value is
answered as "not found" without a query.
"""

from __future__ import annotations

from typing import Any


def could_be_name(value: str, column: Any) -> bool:
    """Whether ``value`` fits ``column`` (a ``String(n)``) and holds no NUL character."""
    length = getattr(column.type, "length", None)
    return "\x00" not in value and (length is None or len(value) <= length)
