"""The token server's HTTP endpoints (docs/token-server.md is their contract).

``create_tokenserver(config)`` is the ASGI app that ``backchannel serve`` mounts at ``/auth``;
``create_standalone_app(config)`` serves it alone (``backchannel tokenserver``) at the same paths,
with its own store. Bodies are JSON or form-encoded (16 KiB at most); a form login is answered
with HTML and redirects, everything else with JSON.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backchannel.config import Config
from backchannel.store import Store
from backchannel.tokenserver import csrf
from backchannel.tokenserver.authenticator import Authenticator, Caller
from backchannel.tokenserver.errors import (
    BadRequestError,
    InvalidCredentialsError,
    NotConfiguredError,
    PayloadTooLargeError,
    TokenServerError,
    TooManyAttemptsError,
    UnauthenticatedError,
    UnsupportedMediaError,
    error_headers,
    on_error,
)
from backchannel.tokenserver.minting import Minter, iso
from backchannel.tokenserver.pages import home_page, login_page, safe_next
from backchannel.tokenserver.passwords import Passwords

log = logging.getLogger("backchannel.tokenserver")

PREFIX = "/auth"
COOKIE = "backchannel_session"
MAX_BODY = 16 * 1024
FORM = "application/x-www-form-urlencoded"
_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@dataclass(frozen=True, slots=True)
class TokenServer:
    """What the endpoints share: settings, authentication, and the minter (None: not set up)."""

    config: Config
    auth: Authenticator
    minter: Minter | None
    trusted_origin: str | None


def _server(request: Request) -> TokenServer:
    return request.app.state.tokenserver  # type: ignore[no-any-return]


def _base(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def _fields(request: Request) -> tuple[bool, dict[str, str]]:
    """(is it a form, its string fields): the body as a form, a JSON object, or nothing."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise PayloadTooLargeError(f"the body must be at most {MAX_BODY} bytes")
        chunks.append(chunk)
    body = b"".join(chunks)
    kind = _media_type(request)
    if kind == FORM:
        try:
            pairs = parse_qsl(body.decode(), keep_blank_values=True, max_num_fields=16)
        except (UnicodeDecodeError, ValueError):
            raise BadRequestError("the form is not valid") from None
        fields: dict[str, str] = {}
        for name, value in pairs:
            fields.setdefault(name, value)
        return True, fields
    if kind == "application/json":
        try:
            data: Any = json.loads(body)
        except ValueError:
            raise BadRequestError("the body is not valid JSON") from None
        if not isinstance(data, dict):
            raise BadRequestError("the body must be a JSON object")
        return False, {k: v for k, v in data.items() if isinstance(v, str)}
    if not body:
        return False, {}
    raise UnsupportedMediaError(f"send application/json or {FORM}")


def _secure(request: Request, config: Config) -> bool:
    if config.secure_cookies is not None:
        return config.secure_cookies
    public = (config.public_url or "").lower()
    return request.url.scheme == "https" or public.startswith("https://")


def _cookie_options(request: Request) -> dict[str, Any]:
    secure = _secure(request, _server(request).config)
    return {"path": _base(request) or "/", "secure": secure, "httponly": True, "samesite": "lax"}


def _clear_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(COOKIE, **_cookie_options(request))


def _caller_body(caller: Caller) -> dict[str, Any]:
    expires = int(caller.expires_at.replace(tzinfo=UTC).timestamp())  # the store's naive UTC
    return {
        "identity": caller.user.username,
        "auth": caller.via,
        "csrf_token": caller.session.csrf_token if caller.session else None,
        "expires_at": iso(expires),
        "expires_at_epoch": expires,
    }


async def _caller(request: Request) -> Caller:
    """The caller by API token (``Authorization: Bearer``, which wins) or session cookie."""
    auth = _server(request).auth
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, credentials = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            raise UnauthenticatedError(
                "the Authorization header must be 'Bearer <API token>'", bearer=True
            )
        return await auth.api_token(credentials.strip())
    secret = request.cookies.get(COOKIE)
    session = await auth.session(secret) if secret else None
    if session is None:
        raise UnauthenticatedError(
            f"not logged in: POST {_base(request)}/login, or send 'Authorization: Bearer "
            "<API token>'"
        )
    return Caller(session.user, session, session.expires_at)


async def _csrf_given(request: Request) -> str | None:
    given = request.headers.get(csrf.HEADER)
    if given is None and _media_type(request) == FORM:
        given = (await _fields(request))[1].get(csrf.FIELD)
    return given


async def index(request: Request) -> Response:
    secret = request.cookies.get(COOKIE)
    session = await _server(request).auth.session(secret) if secret else None
    if session is None:
        return RedirectResponse(f"{_base(request)}/login", status_code=303)
    return home_page(_base(request), session.user.username, session.csrf_token)


async def login_form(request: Request) -> Response:
    base = _base(request)
    return login_page(base, safe_next(request.query_params.get("next"), f"{base}/"))


async def login(request: Request) -> Response:
    server = _server(request)
    csrf.check_same_origin(request, server.trusted_origin)
    is_form, fields = await _fields(request)
    base = _base(request)
    next_url = safe_next(fields.get("next"), f"{base}/")
    username, password = fields.get("username", ""), fields.get("password", "")
    if not username or not password:
        if is_form:
            error = "Enter a username and a password."
            return login_page(base, next_url, error=error, username=username, status=400)
        raise BadRequestError("username and password are required")
    address = request.client.host if request.client else "unknown"
    try:
        new = await server.auth.login(username, password, address)
    except (InvalidCredentialsError, TooManyAttemptsError) as exc:
        log.info("login refused (%s) for %r from %s", exc.error, username, address)
        if not is_form:
            raise
        headers = error_headers(exc)
        return login_page(
            base, next_url, error=exc.message, username=username, status=exc.status,
            headers=headers,
        )
    previous = request.cookies.get(COOKIE)
    if previous:
        await server.auth.logout(previous)  # one browser, one session
    session = new.session
    response: Response
    if is_form:
        response = RedirectResponse(next_url, status_code=303)
    else:
        response = JSONResponse(_caller_body(Caller(session.user, session, session.expires_at)))
    response.set_cookie(
        COOKIE, new.secret, max_age=server.config.session_ttl, **_cookie_options(request)
    )
    return response


async def logout(request: Request) -> Response:
    server = _server(request)
    csrf.check_same_origin(request, server.trusted_origin)
    secret = request.cookies.get(COOKIE)
    session = await server.auth.session(secret) if secret else None
    if secret and session is not None:
        csrf.check_token(session.csrf_token, await _csrf_given(request))
        await server.auth.logout(secret)
    response: Response = Response(status_code=204)
    if _media_type(request) == FORM:
        response = RedirectResponse(f"{_base(request)}/login", status_code=303)
    _clear_cookie(request, response)
    return response


async def me(request: Request) -> Response:
    return JSONResponse(_caller_body(await _caller(request)))


async def token(request: Request) -> Response:
    server = _server(request)
    csrf.check_same_origin(request, server.trusted_origin)
    caller = await _caller(request)
    if caller.session is not None:
        csrf.check_token(caller.session.csrf_token, await _csrf_given(request))
    if server.minter is None:
        raise NotConfiguredError(
            "the token server has no credentials to mint with: set TWILIO_ACCOUNT_SID, "
            "TWILIO_API_KEY, TWILIO_API_SECRET and TWILIO_CHAT_SERVICE_SID"
        )
    return JSONResponse(server.minter.mint(caller.user.username, int(server.auth.clock())))


async def _on_error(request: Request, exc: Exception) -> Response:
    response = await on_error(request, exc)
    if isinstance(exc, UnauthenticatedError) and not exc.bearer and COOKIE in request.cookies:
        _clear_cookie(request, response)  # a stale or forged cookie: the browser drops it
    return response


class _SecurityHeaders:
    """No caching, no sniffing, no referrer across sites: on every answer of the token server."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


ROUTES = [
    Route("/", index, methods=["GET"]),
    Route("/login", login_form, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/me", me, methods=["GET"]),
    Route("/token", token, methods=["POST"]),
]


def create_tokenserver(
    config: Config,
    *,
    store: Store | None = None,
    clock: Callable[[], float] = time.time,
    passwords: Passwords | None = None,
) -> Starlette:
    """The token server's app, to mount at ``PREFIX``; ``use_store`` gives it its store.

    Raises ``ConfigError`` for half-given or malformed TWILIO_* settings. Without any of them
    the app runs, and ``POST /token`` answers 503.
    """
    minter = Minter.from_config(config)
    if minter is None:
        log.warning("token server: TWILIO_* are not set; POST %s/token answers 503", PREFIX)
    auth = Authenticator(config, clock=clock, passwords=passwords, store=store)
    app = Starlette(
        routes=ROUTES,
        middleware=[Middleware(_SecurityHeaders)],
        exception_handlers={TokenServerError: _on_error},
    )
    app.state.tokenserver = TokenServer(config, auth, minter, csrf.origin_of(config.public_url))
    return app


def use_store(app: Starlette, store: Store) -> None:
    """Give a mounted token server the store its host app opened (mounted apps get no lifespan)."""
    app.state.tokenserver.auth.store = store


def create_standalone_app(
    config: Config,
    *,
    clock: Callable[[], float] = time.time,
    passwords: Passwords | None = None,
) -> Starlette:
    """The token server alone: the same ``/auth/…`` paths, ``/healthz``, its own store."""
    from backchannel.api import health

    auth_app = create_tokenserver(config, clock=clock, passwords=passwords)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.store = Store.from_config(config)
        try:
            await app.state.store.migrate()
            use_store(auth_app, app.state.store)
            yield
        finally:
            await app.state.store.close()

    async def root(request: Request) -> Response:
        return RedirectResponse(f"{PREFIX}/", status_code=303)

    return Starlette(
        routes=[*health.routes, Route("/", root, methods=["GET"]), Mount(PREFIX, app=auth_app)],
        lifespan=lifespan,
    )
