"""One authenticated API call: its parameters, its account, its database transaction.

``@endpoint`` wraps a handler ``async def handler(call: Call) -> Response``: it authenticates
the caller (HTTP Basic), reads the parameters (query string and form body; a repeated key is a
list) before any transaction opens, then runs the handler in one transaction, so a request that
fails changes nothing. What the handler publishes for live sessions goes out after the commit.

When PostgreSQL aborts the transaction because of a deadlock (SQLSTATE 40P01) or a
serialization failure (40001), the whole transaction is run again — authentication and handler,
from the parameters already read — up to ``MAX_RETRIES`` times. Each try gets a fresh ``Call``,
so what a rolled-back try published is dropped and nothing goes out twice. The store keeps its
lock order consistent (``store.members``) so that this is rare; it is the net for what lock
ordering cannot exclude.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from backchannel.api.auth import authenticate
from backchannel.api.errors import RequestTooLargeError
from backchannel.chat.errors import InvalidParameterError, NotFoundError
from backchannel.store import Store

MAX_BODY_BYTES = 1024 * 1024
MAX_FIELDS = 1000
MAX_RETRIES = 3  # runs of a transaction PostgreSQL aborted, after the first
RETRY_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock detected, serialization failure

log = logging.getLogger("backchannel.api")

Params = dict[str, list[str]]


def parse_params(text: str) -> Params:
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS, errors="strict")
    except (ValueError, UnicodeDecodeError):
        raise InvalidParameterError("The request parameters are not valid form data") from None
    params: Params = {}
    for name, value in pairs:
        params.setdefault(name, []).append(value)
    return params


async def read_params(request: Request) -> Params:
    params = parse_params(request.url.query)
    if request.method in ("POST", "PUT", "PATCH"):
        size = request.headers.get("content-length")
        if size is not None and (not size.isdigit() or int(size) > MAX_BODY_BYTES):
            raise RequestTooLargeError("The request body is too large")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                raise RequestTooLargeError("The request body is too large")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidParameterError("The request body must be UTF-8 form data") from None
        for name, values in parse_params(text).items():
            params.setdefault(name, []).extend(values)
    return params


def base_url(request: Request) -> str:
    """Where this server is reached: the configured public URL, else the request's own."""
    public = request.app.state.config.public_url
    if public:
        return str(public).rstrip("/")
    return str(request.base_url).rstrip("/")


@dataclass(slots=True)
class Call:
    request: Request
    conn: AsyncConnection
    store: Store
    account_sid: str
    params: Params
    base_url: str
    published: list[tuple[str, str]] = field(default_factory=list)

    def path_param(self, name: str) -> str:
        return str(self.request.path_params[name])

    def get(self, name: str) -> str | None:
        """The last value of a parameter, or None when it was not sent."""
        values = self.params.get(name)
        return values[-1] if values else None

    def get_all(self, name: str) -> Sequence[str]:
        return self.params.get(name, [])

    def required(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise InvalidParameterError(f"Missing required parameter {name} in the post body")
        return value

    def url(self, path: str) -> str:
        return self.base_url + path

    def publish(self, publications: Iterable[tuple[str, str]]) -> None:
        """Raise events (``realtime.events``) for live sessions once the transaction commits."""
        self.published.extend(publications)

    def not_found(self) -> NotFoundError:
        return NotFoundError(f"The requested resource {self.request.url.path} was not found")


Handler = Callable[[Call], Awaitable[Response]]


def sqlstate(error: DBAPIError) -> str | None:
    """The SQLSTATE of a database error (asyncpg's, through SQLAlchemy's adapter), if any."""
    for cause in (error.orig, getattr(error.orig, "__cause__", None)):
        state = getattr(cause, "sqlstate", None)
        if isinstance(state, str):
            return state
    return None


def endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    @functools.wraps(handler)
    async def run(request: Request) -> Response:
        store: Store = request.app.state.store
        header = request.headers.get("authorization")
        params = await read_params(request)
        retries = 0
        while True:
            try:
                async with store.transaction() as conn:
                    account_sid = await authenticate(conn, store.box, header)
                    call = Call(request, conn, store, account_sid, params, base_url(request))
                    response = await handler(call)
                break
            except DBAPIError as error:
                state = sqlstate(error)
                if state not in RETRY_SQLSTATES or retries >= MAX_RETRIES:
                    raise
                retries += 1
                log.info(
                    "%s %s: transaction aborted (SQLSTATE %s), retry %d of %d",
                    request.method,
                    request.url.path,
                    state,
                    retries,
                    MAX_RETRIES,
                )
                await asyncio.sleep(random.uniform(0, 0.01 * retries))  # noqa: S311 (jitter)
        broker = request.app.state.node.broker
        for topic, message in call.published:
            await broker.publish(topic, message)
        return response

    return run


def resource_routes(collection: str, item: str, **handlers: Callable[..., Any]) -> list[Route]:
    """The routes of one REST resource: ``create``/``list_`` on the collection path, and
    ``fetch``/``update``/``delete`` on the item path; a resource passes the handlers it has."""
    verbs = {
        "create": (collection, "POST"),
        "list_": (collection, "GET"),
        "fetch": (item, "GET"),
        "update": (item, "POST"),
        "delete": (item, "DELETE"),
    }
    unknown = set(handlers) - set(verbs)
    if unknown:
        raise TypeError(f"unknown handlers: {sorted(unknown)}")
    return [
        Route(verbs[name][0], handler, methods=[verbs[name][1]])
        for name, handler in handlers.items()
    ]


def json(body: Any, status: int = 200) -> Response:
    return JSONResponse(body, status_code=status)


def no_content() -> Response:
    return Response(status_code=204)
