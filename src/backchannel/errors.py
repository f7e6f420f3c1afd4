"""The one base of every error Backchannel raises on purpose.

Each layer narrows it in its own ``errors.py``; every leaf carries the Twilio error ``code`` and
the HTTP ``status`` it maps to on the wire, so the API layer translates errors with one table.
"""

from __future__ import annotations


class BackchannelError(Exception):
    """An expected failure with a Twilio error code and an HTTP status."""

    code: int = 20001
    status: int = 400

    def __init__(self, message: str, *, code: int | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
