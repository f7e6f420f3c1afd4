"""A real server whose token server mints for a chat service, and clients for it.

Passwords are hashed with cheap argon2 parameters there (the rules are the same; the tests are
faster). ``AuthServer.add_user()`` creates a user with a unique name, ``client()`` an httpx
client from an address of its own (127.0.x.y), so the per-address login limit of one test never
touches another.
"""

from __future__ import annotations

import itertools
import secrets
import time
from datetime import datetime
from typing import Any

import httpx
from argon2 import PasswordHasher
from starlette.routing import Mount

from backchannel.config import Config
from backchannel.store import Store, accounts, keys, logins, services
from backchannel.tokens import SigningKey, TokenVerifier
from backchannel.tokenserver import PREFIX
from backchannel.tokenserver.passwords import Passwords
from backchannel.tokenserver.users import add_user
from conftest import RunningServer  # tests/conftest.py

FAST_PASSWORDS = Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
PASSWORD = "correct horse battery staple"
_addresses = itertools.count(2)


def tokenserver_of(app: Any) -> Any:
    """The ``TokenServer`` state of the token server mounted in a ``create_app`` app."""
    (mount,) = [r for r in app.routes if isinstance(r, Mount) and r.path == PREFIX]
    return mount.app.state.tokenserver


class AuthRunningServer(RunningServer):
    def _bind(self) -> None:
        super()._bind()
        tokenserver_of(self._server.config.app).auth.passwords = FAST_PASSWORDS
        FAST_PASSWORDS.prepare()


class AuthServer:
    """A running server with a configured token server; see the module docstring."""

    def __init__(self, running: AuthRunningServer, config: Config) -> None:
        self.running = running
        self.config = config
        self.url = running.url
        self._clients: list[httpx.Client] = []

    def verifier(self) -> TokenVerifier:
        key = SigningKey(self.config.twilio_api_secret, self.config.twilio_account_sid)
        return TokenVerifier({self.config.twilio_api_key: key})

    def add_user(self, prefix: str = "user", password: str = PASSWORD) -> str:
        name = f"{prefix}-{secrets.token_hex(4)}"

        async def run(store: Store) -> None:
            await add_user(store, name, password, passwords=FAST_PASSWORDS, clock=time.time)

        self.running.run_store(run)
        return name

    def api_token(self, username: str, expires_at: datetime) -> str:
        async def run(store: Store) -> str:
            async with store.transaction() as conn:
                user = await logins.get_user(conn, username)
                assert user is not None
                return await logins.create_api_token(
                    conn, user, datetime(2020, 1, 1), expires_at
                )

        return self.running.run_store(run)

    def client(self, **kwargs: Any) -> httpx.Client:
        """A client from an address of its own; ``Origin`` as a same-origin browser sends it."""
        n = next(_addresses)
        address = f"127.0.{n // 250}.{n % 250 + 2}"
        headers = {"Origin": self.url, **kwargs.pop("headers", {})}
        client = httpx.Client(
            base_url=self.url,
            transport=httpx.HTTPTransport(local_address=address),
            headers=headers,
            **kwargs,
        )
        self._clients.append(client)
        return client

    def login(self, client: httpx.Client, username: str, password: str = PASSWORD) -> str:
        """Log in with JSON; the CSRF token."""
        response = client.post("/auth/login", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        return response.json()["csrf_token"]

    def close(self) -> None:
        for client in self._clients:
            client.close()


async def tenant(config: Config) -> dict[str, str]:
    store = Store.from_config(config)
    try:
        await store.migrate()
        async with store.transaction() as conn:
            account = await accounts.create_account(conn, "token server tests")
            sid = account.account.sid
            key = await keys.create_key(conn, store.box, sid, "token server")
            service = await services.create_service(conn, sid, "token server chat")
    finally:
        await store.close()
    return {
        "twilio_account_sid": sid,
        "twilio_api_key": key.key.sid,
        "twilio_api_secret": key.secret,
        "twilio_chat_service_sid": service["sid"],
    }
