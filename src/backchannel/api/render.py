"""How stored values look on the wire: Twilio's date format, and nothing else."""

from __future__ import annotations

from datetime import datetime


def date(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z``, as Twilio writes ``date_created``."""
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc2822(value: datetime) -> str:
    """The 2010 API's date format: ``Mon, 13 Jun 2016 22:50:08 +0000``."""
    return value.strftime("%a, %d %b %Y %H:%M:%S +0000")
