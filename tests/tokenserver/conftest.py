"""Fixtures for the token server.

- ``auth_server`` (session, per storage backend): uvicorn serving ``create_app`` with the
  ``TWILIO_*`` settings of a fresh account, API key and chat service on the session's database
  (an ``AuthServer`` of support.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from backchannel.config import Config

from .support import AuthRunningServer, AuthServer, tenant


@pytest.fixture(scope="session")
def auth_server(database_url: str, master_key: str) -> Iterator[AuthServer]:
    base = Config(database_url=database_url, master_key=master_key)
    config = Config(database_url=database_url, master_key=master_key, **asyncio.run(tenant(base)))
    running = AuthRunningServer(config)
    running.start()
    server = AuthServer(running, config)
    try:
        yield server
    finally:
        server.close()
        running.stop()
