"""The store's one clock: naive UTC datetimes, as every date column holds them."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    # Microseconds are dropped: Twilio's dates have whole seconds and every database keeps them.
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)
