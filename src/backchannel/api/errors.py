"""The one table from errors to the wire: Twilio's envelope ``{code, message, more_info, status}``.

Every ``BackchannelError`` answers with its own code and status. Starlette's routing errors
become Twilio's 20404 / 20004; anything unexpected is logged and answers 500 with code 20500 and
no detail.
"""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from backchannel.chat.errors import AuthenticationError
from backchannel.errors import BackchannelError

log = logging.getLogger("backchannel.api")

MORE_INFO = "https://www.twilio.com/docs/errors/{code}"


class ApiError(BackchannelError):
    """An error of the HTTP layer itself (bad credentials format, unknown path, …)."""


class RequestTooLargeError(ApiError):
    code = 20001
    status = 413


def envelope(
    code: int, status: int, message: str, headers: dict[str, str] | None = None
) -> Response:
    body = {
        "code": code,
        "message": message,
        "more_info": MORE_INFO.format(code=code),
        "status": status,
    }
    return JSONResponse(body, status_code=status, headers=headers)


def not_found(request: Request) -> Response:
    """The same answer for a missing resource and another account's."""
    return envelope(20404, 404, f"The requested resource {request.url.path} was not found")


async def on_backchannel_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BackchannelError)
    if exc.status == 404:
        return envelope(exc.code, 404, f"The requested resource {request.url.path} was not found")
    basic = isinstance(exc, AuthenticationError)
    headers = {"WWW-Authenticate": 'Basic realm="Backchannel API"'} if basic else None
    if exc.status >= 500:
        log.error("%s %s failed: %s", request.method, request.url.path, exc.message)
    return envelope(exc.code, exc.status, exc.message, headers)


async def on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return not_found(request)
    if exc.status_code == 405:
        return envelope(20004, 405, "Method not allowed")
    return envelope(20001 if exc.status_code < 500 else 20500, exc.status_code, str(exc.detail))


async def on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("%s %s failed", request.method, request.url.path, exc_info=exc)
    return envelope(20500, 500, "Internal server error")


HANDLERS = {
    BackchannelError: on_backchannel_error,
    HTTPException: on_http_exception,
    Exception: on_unexpected,
}
