"""What the token server answers when it says no, and the one table that puts it on the wire.

::

    TokenServerError (BackchannelError)
    ├── BadRequestError          400 bad_request          the body is not what the endpoint takes
    ├── InvalidCredentialsError  401 invalid_credentials  wrong username or password (either one)
    ├── UnauthenticatedError     401 unauthenticated      no session, no API token, or a bad one
    ├── CsrfError                403 csrf_failed          cross-site request, or no/wrong CSRF token
    ├── PayloadTooLargeError     413 payload_too_large
    ├── UnsupportedMediaError    415 unsupported_media_type
    ├── TooManyAttemptsError     429 too_many_attempts    carries ``retry_after`` (seconds)
    └── NotConfiguredError       503 not_configured       no TWILIO_* credentials to mint with

Every error is answered as JSON ``{"error": <slug>, "message": <text>, "status": <code>}``
(429 adds ``retry_after``). ``code`` is Twilio's nearest error code, for logs.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from backchannel.errors import BackchannelError


class TokenServerError(BackchannelError):
    """A refusal of the token server; ``error`` is the stable slug clients may switch on."""

    error = "bad_request"


class BadRequestError(TokenServerError):
    code = 20001
    status = 400


class InvalidCredentialsError(TokenServerError):
    error = "invalid_credentials"
    code = 20003
    status = 401

    def __init__(self) -> None:
        # One message for an unknown user and a wrong password: nothing tells them apart.
        super().__init__("wrong username or password")


class UnauthenticatedError(TokenServerError):
    error = "unauthenticated"
    code = 20003
    status = 401

    def __init__(self, message: str, *, bearer: bool = False) -> None:
        super().__init__(message)
        self.bearer = bearer  # the caller sent an Authorization header


class CsrfError(TokenServerError):
    error = "csrf_failed"
    code = 20403
    status = 403


class PayloadTooLargeError(TokenServerError):
    error = "payload_too_large"
    code = 20001
    status = 413


class UnsupportedMediaError(TokenServerError):
    error = "unsupported_media_type"
    code = 20001
    status = 415


class TooManyAttemptsError(TokenServerError):
    error = "too_many_attempts"
    code = 20429
    status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after} s")
        self.retry_after = retry_after


class NotConfiguredError(TokenServerError):
    error = "not_configured"
    code = 20503
    status = 503


def error_headers(exc: TokenServerError) -> dict[str, str]:
    if isinstance(exc, TooManyAttemptsError):
        return {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, UnauthenticatedError) and exc.bearer:
        return {"WWW-Authenticate": 'Bearer realm="backchannel", error="invalid_token"'}
    return {}


def error_body(exc: TokenServerError) -> dict[str, object]:
    body: dict[str, object] = {"error": exc.error, "message": exc.message, "status": exc.status}
    if isinstance(exc, TooManyAttemptsError):
        body["retry_after"] = exc.retry_after
    return body


async def on_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TokenServerError)
    return JSONResponse(error_body(exc), status_code=exc.status, headers=error_headers(exc))


HANDLERS = {TokenServerError: on_error}
