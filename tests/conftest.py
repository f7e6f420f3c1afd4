"""Shared fixtures: a real Backchannel server on a fresh database, for each storage backend.

- ``database_url`` (session, parametrized ``sqlite`` / ``postgresql``): a fresh database. The
  PostgreSQL one is created on 127.0.0.1:5432 (user ``postgres``) under a unique name and dropped
  afterwards; without a reachable server the tests skip, unless ``CI=true``, where they fail.
- ``running_server`` (session): uvicorn serving ``create_app`` on a free port of 127.0.0.1 in a
  background thread, against ``database_url``.
- ``server`` (per test): a ``ServerHandle`` for a brand-new account with one API key, so tests
  never see each other's data. ``server.twilio_client()`` is the official twilio client pointed
  at the server; ``server.new_tenant()`` another account on the same server;
  ``server.http()`` an httpx client with the account's Basic credentials;
  ``server.run_store(fn)`` runs ``await fn(store)`` on a store of the same database.
- ``chat`` (per test): a ``ChatService`` — a chat service of a fresh account, with ``token()``
  minting Access Tokens for it and ``ws_url`` for live sessions.
- ``store_factory``: ``async with store_factory() as store`` for store-level tests.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import pytest
from cryptography.fernet import Fernet

from backchannel.api import create_app
from backchannel.api.serving import Server, uvicorn_config
from backchannel.config import Config
from backchannel.store import Store, accounts, keys

T = TypeVar("T")

POSTGRES_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/{name}"


async def _postgres(statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=5)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def _postgres_database() -> Iterator[str]:
    name = f"backchannel_test_{secrets.token_hex(6)}"
    try:
        asyncio.run(_postgres(f'CREATE DATABASE "{name}"'))
    except (TimeoutError, OSError) as exc:
        reason = f"PostgreSQL is not reachable on 127.0.0.1:5432 ({type(exc).__name__}: {exc})"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        yield POSTGRES_URL.format(name=name)
    finally:
        asyncio.run(_postgres(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'backchannel.db'}"
    else:
        yield from _postgres_database()


@pytest.fixture(scope="session")
def master_key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def store_factory(database_url: str, master_key: str) -> Callable[[], Any]:
    """``async with store_factory() as store``: a migrated store on the session's database."""

    @asynccontextmanager
    async def open_store() -> AsyncIterator[Store]:
        store = Store.from_config(Config(database_url=database_url, master_key=master_key))
        try:
            await store.migrate()
            yield store
        finally:
            await store.close()

    return open_store


class RunningServer:
    """uvicorn serving Backchannel in a thread; ``url`` is its base URL.

    ``port`` 0 takes a free one; after ``stop()``, ``restart()`` serves again on the same port.
    """

    def __init__(self, config: Config, port: int = 0) -> None:
        self.config = config
        self.port = port
        self._bind()

    def _bind(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", self.port))
        self.port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = Server(
            uvicorn_config(create_app(self.config), log_level="warning", access_log=False)
        )
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def restart(self) -> None:
        self._bind()
        self.start()

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the Backchannel test server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)
        self._socket.close()

    def run_store(self, fn: Callable[[Store], Awaitable[T]]) -> T:
        """``await fn(store)`` on a store of the server's database, from the test's thread."""

        async def run() -> T:
            store = Store.from_config(self.config)
            try:
                return await fn(store)
            finally:
                await store.close()

        return asyncio.run(run())


@pytest.fixture(scope="session")
def running_server(database_url: str, master_key: str) -> Iterator[RunningServer]:
    server = RunningServer(Config(database_url=database_url, master_key=master_key))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class ServerHandle:
    """One account (with one API key) on a running server."""

    running: RunningServer
    account_sid: str
    auth_token: str
    key_sid: str
    key_secret: str
    _clients: list[httpx.Client] = field(default_factory=list, repr=False)

    @property
    def url(self) -> str:
        return self.running.url

    def twilio_client(self, *, use_key: bool = False) -> Any:
        """The official twilio client, authenticated with the auth token (or the API key)."""
        from twilio.rest import Client

        if use_key:
            client = Client(self.key_sid, self.key_secret, self.account_sid)
        else:
            client = Client(self.account_sid, self.auth_token, self.account_sid)
        client.chat.base_url = self.url
        client.api.base_url = self.url
        return client

    def http(self) -> httpx.Client:
        # Generous timeout: concurrency tests queue on SQLite's write lock on a busy machine.
        client = httpx.Client(
            base_url=self.url, auth=(self.account_sid, self.auth_token), timeout=60
        )
        self._clients.append(client)
        return client

    def on(self, running: RunningServer) -> ServerHandle:
        """The same account, reached through another server (node) on the same database."""
        return ServerHandle(
            running, self.account_sid, self.auth_token, self.key_sid, self.key_secret
        )

    def new_tenant(self) -> ServerHandle:
        return open_tenant(self.running)

    def run_store(self, fn: Callable[[Store], Awaitable[T]]) -> T:
        return self.running.run_store(fn)

    def close(self) -> None:
        for client in self._clients:
            client.close()


def open_tenant(running: RunningServer) -> ServerHandle:
    async def bootstrap(store: Store) -> ServerHandle:
        async with store.transaction() as conn:
            account = await accounts.create_account(conn, "test account")
            key = await keys.create_key(conn, store.box, account.account.sid, "test key")
        return ServerHandle(
            running, account.account.sid, account.auth_token, key.key.sid, key.secret
        )

    return running.run_store(bootstrap)


class ChatService:
    """A chat service of a fresh account on the running server, and Access Tokens for it."""

    def __init__(self, handle: ServerHandle, service_sid: str | None = None) -> None:
        self.handle = handle
        self.rest = handle.twilio_client()
        self.service_sid: str = (
            service_sid or self.rest.chat.v2.services.create(friendly_name="live").sid
        )

    @property
    def url(self) -> str:
        return self.handle.url

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/client/v1/ws"

    def token(
        self,
        identity: str = "alice",
        ttl: int = 3600,
        *,
        key_sid: str | None = None,
        secret: str | None = None,
        service_sid: str | None = None,
        **kwargs: Any,
    ) -> str:
        """A chat token signed with the account's key (or ``key_sid``/``secret``)."""
        from backchannel.tokens import AccessToken
        from backchannel.tokens.grants import ChatGrant

        token = AccessToken(
            self.handle.account_sid,
            key_sid or self.handle.key_sid,
            secret or self.handle.key_secret,
            identity=identity,
            ttl=ttl,
            **kwargs,
        )
        token.add_grant(ChatGrant(service_sid=service_sid or self.service_sid))
        return token.to_jwt()


@pytest.fixture
def chat(server: ServerHandle) -> ChatService:
    """A chat service on the running server (both storage backends)."""
    return ChatService(server)


@pytest.fixture
def server(running_server: RunningServer) -> Iterator[ServerHandle]:
    handle = open_tenant(running_server)
    try:
        yield handle
    finally:
        handle.close()
