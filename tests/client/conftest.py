"""Fixtures for the SDK tests.

- ``live_server`` (per test): the ``chat`` fixture of tests/conftest.py, a ``ChatService`` — a
  fresh account with one chat service on the running server; ``live_server.token("alice",
  ttl=…)`` mints an access token, ``live_server.rest`` is the official twilio client.
- ``restartable`` (per test): ``restartable(live_server)`` is a second server on the same
  database that the test may ``stop()`` and ``restart()`` on the same port.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from conftest import ChatService, RunningServer  # tests/conftest.py


@pytest.fixture
def live_server(chat: ChatService) -> ChatService:
    return chat


@pytest.fixture
def restartable() -> Iterator[Callable[[ChatService], RunningServer]]:
    started: list[RunningServer] = []

    def make(live: ChatService) -> RunningServer:
        server = RunningServer(live.handle.running.config)
        server.start()
        started.append(server)
        return server

    yield make
    for server in started:
        if server._thread.is_alive():
            server.stop()
