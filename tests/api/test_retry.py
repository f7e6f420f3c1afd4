"""``@endpoint`` runs a transaction again when PostgreSQL aborts it for a deadlock (40P01) or a
serialization failure (40001), and publishes only what the try that committed raised."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from backchannel.api import errors
from backchannel.api.calls import MAX_RETRIES, Call, endpoint, json
from backchannel.store import Store, accounts


class Recorder:
    """The broker, as far as ``@endpoint`` uses it."""

    def __init__(self) -> None:
        self.published: list[tuple[str, str]] = []

    async def publish(self, topic: str, message: str) -> None:
        self.published.append((topic, message))


class _DriverError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"SQLSTATE {sqlstate}")
        self.sqlstate = sqlstate


def aborted(sqlstate: str) -> DBAPIError:
    """What SQLAlchemy raises when asyncpg reports ``sqlstate``."""
    return DBAPIError("SELECT 1", {}, _DriverError(sqlstate))


Handler = Callable[[Call], Awaitable[Response]]


async def serve(
    store: Store, handler: Handler, requests: Callable[[httpx.AsyncClient], Awaitable[Any]]
) -> tuple[Any, Recorder]:
    """Run ``requests(client)`` against an app whose one route is ``@endpoint(handler)``."""
    async with store.transaction() as conn:
        account = await accounts.create_account(conn, "retries")
    app = Starlette(
        routes=[Route("/run", endpoint(handler), methods=["POST"])],
        exception_handlers=errors.HANDLERS,
    )
    recorder = Recorder()
    app.state.store = store
    app.state.config = SimpleNamespace(public_url=None)
    app.state.node = SimpleNamespace(broker=recorder)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    auth = (account.account.sid, account.auth_token)
    async with httpx.AsyncClient(transport=transport, base_url="http://test", auth=auth) as client:
        return await requests(client), recorder


def test_an_aborted_transaction_is_run_again_and_publishes_once(store_factory: Any) -> None:
    tries: list[int] = []

    async def handler(call: Call) -> Response:
        tries.append(len(tries))
        call.publish([("topic", f"try {len(tries)}")])
        if len(tries) <= 2:
            raise aborted("40P01" if len(tries) == 1 else "40001")
        return json({"tries": len(tries)})

    async def scenario() -> None:
        async with store_factory() as store:
            response, recorder = await serve(store, handler, lambda c: c.post("/run"))
        assert (response.status_code, response.json()) == (200, {"tries": 3})
        assert recorder.published == [("topic", "try 3")]

    asyncio.run(scenario())


def test_retries_stop_after_the_limit_and_other_errors_are_not_retried(
    store_factory: Any,
) -> None:
    tries: list[str] = []

    async def handler(call: Call) -> Response:
        sqlstate = call.required("SqlState")
        tries.append(sqlstate)
        call.publish([("topic", "never")])
        raise aborted(sqlstate)

    async def scenario() -> None:
        async with store_factory() as store:

            async def requests(client: httpx.AsyncClient) -> list[int]:
                codes = []
                for sqlstate in ("40P01", "23505"):
                    response = await client.post("/run", data={"SqlState": sqlstate})
                    codes.append(response.status_code)
                return codes

            codes, recorder = await serve(store, handler, requests)
        assert codes == [500, 500]
        assert tries == ["40P01"] * (1 + MAX_RETRIES) + ["23505"]
        assert recorder.published == []

    asyncio.run(scenario())


def test_a_real_deadlock_is_retried_and_both_requests_succeed(
    store_factory: Any, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite transactions are serial: they cannot deadlock")
    base = secrets.randbelow(2**40)
    tries: list[str] = []

    async def handler(call: Call) -> Response:
        """Lock two advisory locks in the order asked, with time for the other to interleave."""
        first, second = (base + int(k) for k in call.required("Order").split(","))
        tries.append(call.required("Order"))
        await call.conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": first})
        await asyncio.sleep(0.3)
        await call.conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": second})
        call.publish([("topic", call.required("Order"))])
        return json({})

    async def scenario() -> None:
        async with store_factory() as store:

            async def requests(client: httpx.AsyncClient) -> list[httpx.Response]:
                return list(
                    await asyncio.gather(
                        client.post("/run", data={"Order": "1,2"}),
                        client.post("/run", data={"Order": "2,1"}),
                    )
                )

            responses, recorder = await serve(store, handler, requests)
        assert [r.status_code for r in responses] == [200, 200]
        assert len(tries) == 3  # one of the two was chosen as the deadlock victim, once
        assert sorted(message for _, message in recorder.published) == ["1,2", "2,1"]

    asyncio.run(scenario())
