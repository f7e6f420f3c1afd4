"""Fixtures for the SDK tests: a real server with WebSockets on, a chat service, and its tokens.

- ``live_running_server`` (session): a ``RunningServer`` (tests/conftest.py) whose uvicorn speaks
  WebSocket (``ws="websockets-sansio"``) on the session's database, for each storage backend.
- ``live_server`` (per test): a ``LiveServer`` — a fresh account (the ``ServerHandle`` of
  tests/conftest.py) with one chat service; ``live_server.token("alice", ttl=…)`` mints an access
  token with the account's API key, ``live_server.rest`` is the official twilio client.
- ``restartable`` (per test): ``restartable(live_server)`` is a second server on the same
  database that the test may ``stop()`` and ``start()`` again on the same port.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import uvicorn

from backchannel.api import create_app
from backchannel.config import Config
from backchannel.tokens import AccessToken
from backchannel.tokens.grants import ChatGrant
from conftest import RunningServer, ServerHandle, open_tenant  # tests/conftest.py


class LiveRunningServer(RunningServer):
    """``RunningServer`` with WebSocket support, on ``port`` (0: a free one), restartable."""

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
        self._server = uvicorn.Server(
            uvicorn.Config(
                create_app(self.config),
                lifespan="on",
                ws="websockets-sansio",
                log_level="warning",
                access_log=False,
            )
        )
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def restart(self) -> None:
        """Start again, on the same port and database, after ``stop()``."""
        self._bind()
        self.start()


class LiveServer:
    """One account with one chat service on a WebSocket-enabled server."""

    def __init__(self, handle: ServerHandle) -> None:
        self.handle = handle
        self.rest = handle.twilio_client()
        self.service_sid: str = self.rest.chat.v2.services.create(friendly_name="sdk").sid

    @property
    def url(self) -> str:
        return self.handle.url

    def token(
        self,
        identity: str = "alice",
        ttl: int = 3600,
        *,
        secret: str | None = None,
        key_sid: str | None = None,
        service_sid: str | None = None,
        **kwargs: Any,
    ) -> str:
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


@pytest.fixture(scope="session")
def live_running_server(database_url: str, master_key: str) -> Iterator[LiveRunningServer]:
    server = LiveRunningServer(Config(database_url=database_url, master_key=master_key))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def live_server(live_running_server: LiveRunningServer) -> Iterator[LiveServer]:
    handle = open_tenant(live_running_server)
    try:
        yield LiveServer(handle)
    finally:
        handle.close()


@pytest.fixture
def restartable() -> Iterator[Callable[[LiveServer], LiveRunningServer]]:
    started: list[LiveRunningServer] = []

    def make(live: LiveServer) -> LiveRunningServer:
        server = LiveRunningServer(live.handle.running.config)
        server.start()
        started.append(server)
        return server

    yield make
    for server in started:
        if server._thread.is_alive():
            server.stop()
