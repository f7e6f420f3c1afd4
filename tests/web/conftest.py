"""Browser tests: backchannel.js in Debian's chromium, driven by Playwright, against a real server.

- ``browser`` (package scope): headless chromium from ``/usr/bin/chromium``. Without it (or
  without the ``playwright`` package) the tests skip, unless ``CI=true``, where they fail. It is
  package-scoped, not session-scoped: while Playwright's sync API is open, its event loop counts
  as running in this thread and ``asyncio.run`` fails, so the browser must be gone before other
  packages' tests run (and before a ``database_url`` of tests/conftest.py is set up or dropped).
- ``web_running_server`` (package): the ``RunningServer`` of tests/conftest.py, its app wrapped to
  also serve the test page (``support.TEST_PAGE``) at ``/__test__/backchannel.html``: a real page
  of the server's origin, as the chat web app will be.
- ``server`` (per test): a ``ServerHandle`` (tests/conftest.py) on it, the account opened on a
  worker thread for the reason above.
- ``web`` (per test): a chat service on that server (``web.service_sid``, ``web.rest`` the twilio
  client), ``web.token(identity, ttl=…)``, and ``web.open(label)``: a new browser context on a
  test page of the server's origin that has imported ``/static/backchannel.js`` (a ``Tab``).

The test page imports ``/static/backchannel.js`` as a module (``window.bc``); it keeps every
recorded event in ``window.events`` (as JSON) and shows them in the page, so screenshots
show what happened; ``window.mintToken(identity, ttl)`` is the Python ``web.token``.
"""

from __future__ import annotations

import concurrent.futures
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from backchannel.api import create_app
from backchannel.api.serving import Server, uvicorn_config
from backchannel.config import Config
from conftest import RunningServer, ServerHandle, open_tenant  # tests/conftest.py

from .support import PAGE_PATH, TEST_PAGE, Web

T = TypeVar("T")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _on_worker_thread(fn: Callable[..., T], *args: Any) -> T:
    """Run ``fn`` where ``asyncio.run`` works: not in the thread Playwright's loop runs in."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, *args).result()


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="package")
def browser(database_url: str) -> Iterator[Any]:
    # ``database_url`` only orders teardown: its PostgreSQL setup and teardown call asyncio.run,
    # so when it changes (sqlite → postgresql) the browser closes first and starts again after.
    if not CHROMIUM.exists():
        _unavailable(f"Debian's chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is missing (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def with_test_page(app: Any) -> ASGIApp:
    """``app``, and the test page at ``PAGE_PATH``."""
    page = HTMLResponse(TEST_PAGE)

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == PAGE_PATH:
            await page(scope, receive, send)
        else:
            await app(scope, receive, send)

    wrapped.state = app.state  # type: ignore[attr-defined]  # Server.shutdown looks for the node
    return wrapped


class WebRunningServer(RunningServer):
    """``RunningServer`` whose app also serves the test page."""

    def __init__(self, config: Config) -> None:
        super().__init__(config)
        app = with_test_page(create_app(config))
        self._server = Server(uvicorn_config(app, log_level="warning", access_log=False))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )


@pytest.fixture(scope="package")
def web_running_server(database_url: str, master_key: str) -> Iterator[WebRunningServer]:
    server = WebRunningServer(Config(database_url=database_url, master_key=master_key))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def server(web_running_server: WebRunningServer) -> Iterator[ServerHandle]:
    handle = _on_worker_thread(open_tenant, web_running_server)
    try:
        yield handle
    finally:
        handle.close()


@pytest.fixture
def web(server: ServerHandle, browser: Any) -> Iterator[Web]:
    web = Web(server, browser)
    try:
        yield web
        errors = [f"{tab.label}: {error}" for tab in web.tabs for error in tab.page_errors]
        assert not errors, f"uncaught errors in the test pages: {errors}"
    finally:
        web.close()
