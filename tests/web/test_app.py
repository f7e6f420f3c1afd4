"""The chat web app at ``/`` in a real browser (Debian's chromium, driven by Playwright), against a
real server running the chat service, the token server and the app, set up as ``backchannel demo``
sets it up (``backchannel.cli.demo.prepare``: alice and bob in ``#general``, reachability on).

Every test gets a fresh database (SQLite or PostgreSQL, as ``database_url`` says) and its own
server, so the token server's TTL can differ per test. Screenshots go to test-artifacts/;
``BACKCHANNEL_UPDATE_SCREENSHOT=1`` also copies the desktop one to docs/screenshot.png (the
README's picture).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from backchannel.cli.demo import Demo, prepare
from backchannel.cli.storage import run_with_store
from backchannel.config import Config
from conftest import RunningServer, _postgres_database  # tests/conftest.py

from .support import ARTIFACTS

T = TypeVar("T")

PASSWORDS = {"alice": "alice-secret-1", "bob": "bob-secret-22"}
DESKTOP = {"width": 1200, "height": 760}
PHONE = {"width": 390, "height": 780}
TIMEOUT_MS = 15_000
DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshot.png"


def _on_worker_thread(fn: Callable[..., T], *args: Any) -> T:
    """Run ``fn`` where ``asyncio.run`` works: not in the thread Playwright's loop runs in."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, *args).result()


@dataclasses.dataclass
class AppServer:
    running: RunningServer
    demo: Demo

    @property
    def url(self) -> str:
        return self.running.url

    def rest(self) -> httpx.Client:
        assert self.demo.auth_token is not None
        return httpx.Client(base_url=self.url, auth=(self.demo.account_sid, self.demo.auth_token))


@pytest.fixture
def start_app(
    database_url: str, master_key: str, tmp_path: Path
) -> Iterator[Callable[..., AppServer]]:
    """``start_app(token_ttl=3600)``: a fresh database with the demo in it, and a server on it
    whose token server mints tokens of ``token_ttl`` seconds."""
    cleanups: list[Callable[[], Any]] = []

    def start(token_ttl: int = 3600) -> AppServer:
        if database_url.startswith("sqlite"):
            url = f"sqlite:///{tmp_path / f'app-{len(cleanups)}.db'}"
        else:
            databases = _postgres_database()
            url = _on_worker_thread(next, databases)
            cleanups.append(lambda: _on_worker_thread(next, databases, None))
        config = Config(database_url=url, master_key=master_key)
        demo = _on_worker_thread(
            run_with_store, config, lambda store: prepare(store, passwords=PASSWORDS)
        )
        config = dataclasses.replace(demo.configure(config), chat_token_ttl=token_ttl)
        running = RunningServer(config)
        running.start()
        cleanups.append(running.stop)
        return AppServer(running, demo)

    try:
        yield start
    finally:
        for cleanup in reversed(cleanups):
            cleanup()


class Tab:
    """One user's browser: a context of its own, the app open in it."""

    def __init__(self, browser: Any, url: str, label: str, viewport: dict[str, int]) -> None:
        self.label = label
        self.context = browser.new_context(viewport=viewport)
        self.context.set_default_timeout(TIMEOUT_MS)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.sockets: list[Any] = []
        self.token_requests: list[int] = []  # statuses of POST /auth/token
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("websocket", lambda socket: self.sockets.append(socket))
        self.page.on("response", self._response)
        self.page.goto(url)

    def _response(self, response: Any) -> None:
        if response.request.method == "POST" and response.url.endswith("/auth/token"):
            self.token_requests.append(response.status)

    def login(self, username: str, password: str | None = None) -> None:
        page = self.page
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password or PASSWORDS[username])
        page.get_by_role("button", name="Sign in").click()

    def status(self) -> str:
        return str(self.page.locator("#status").inner_text())

    def send(self, text: str) -> None:
        box = self.page.get_by_label("Message", exact=True)
        box.fill(text)
        box.press("Enter")

    def message(self, text: str) -> Any:
        return self.page.locator("#messages li", has_text=text)

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / name
        self.page.screenshot(path=str(path))
        return path

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def tabs(browser: Any) -> Iterator[Callable[[AppServer, str, dict[str, int]], Tab]]:
    opened: list[Tab] = []

    def open_tab(app: AppServer, label: str, viewport: dict[str, int] = DESKTOP) -> Tab:
        tab = Tab(browser, app.url, label, viewport)
        opened.append(tab)
        return tab

    try:
        yield open_tab
        errors = [f"{tab.label}: {error}" for tab in opened for error in tab.errors]
        assert not errors, f"uncaught errors in the app: {errors}"
    finally:
        for tab in opened:
            tab.close()


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def signed_in(tab: Tab, username: str) -> Tab:
    tab.login(username)
    expect(tab.page.locator("#status-state")).to_have_text("Connected")
    expect(tab.page.get_by_role("heading", name="# General")).to_be_visible()
    expect(tab.message("Welcome to Backchannel")).to_be_visible()
    return tab


def test_signed_out_the_page_shows_the_login_and_refuses_a_wrong_password(
    start_app: Callable[..., AppServer], tabs: Callable[..., Tab]
) -> None:
    app = start_app()
    tab = tabs(app, "stranger")
    page = tab.page
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_label("Username")).to_be_focused()
    assert not page.locator("#chat-view").is_visible()

    tab.login("alice", "not-the-password")
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    expect(page.get_by_label("Password")).to_be_focused()
    assert tab.sockets == []

    tab.login("alice")
    expect(page.locator("#status-state")).to_have_text("Connected")
    assert tab.token_requests == [200]
    # The session survives a reload: /auth/me knows the cookie.
    page.reload()
    expect(page.locator("#status-state")).to_have_text("Connected")
    expect(page.locator("#me-identity")).to_have_text("alice")


def test_two_users_chat_both_ways(
    start_app: Callable[..., AppServer], tabs: Callable[..., Tab]
) -> None:
    app = start_app()
    alice = signed_in(tabs(app, "alice", DESKTOP), "alice")
    bob = signed_in(tabs(app, "bob", PHONE), "bob")
    a, b = alice.page, bob.page

    # Who is online: reachability is on in the demo's service.
    expect(a.locator('#members li[data-identity="bob"]')).to_have_attribute("data-online", "true")
    expect(a.locator("#channel-info")).to_have_text("2 members · 2 online")

    alice.send("Hi Bob! Lunch at noon?")
    expect(bob.message("Hi Bob! Lunch at noon?")).to_be_visible()
    expect(b.locator("#announcer")).to_contain_text("alice: Hi Bob! Lunch at noon?")
    expect(a.get_by_label("Message", exact=True)).to_have_value("")

    # bob types: alice sees it, then his answer ends it.
    b.get_by_label("Message", exact=True).press_sequentially("Sure, see y")
    expect(a.locator("#typing")).to_have_text("bob is typing…")
    b.get_by_label("Message", exact=True).press_sequentially("ou there")
    b.get_by_label("Message", exact=True).press("Enter")
    expect(alice.message("Sure, see you there")).to_be_visible()
    expect(a.locator("#typing")).to_have_text("")
    assert alice.message("Sure, see you there").get_attribute("class") == "message"
    assert "mine" in (bob.message("Sure, see you there").get_attribute("class") or "")

    # alice creates #random; bob sees it in the other channels and joins it from his phone.
    a.get_by_label("Create a channel").fill("Random")
    a.get_by_role("button", name="Create", exact=True).click()
    expect(a.get_by_role("heading", name="# Random")).to_be_visible()
    b.get_by_role("button", name="Channels").click()
    expect(b.get_by_role("button", name="Channels")).to_have_attribute("aria-expanded", "true")
    b.get_by_role("button", name="Join Random").click()
    expect(b.get_by_role("heading", name="# Random")).to_be_visible()
    expect(a.locator("#channel-info")).to_have_text("2 members · 2 online")

    # Unread counts: bob goes back to #general; alice writes in #random twice.
    b.get_by_role("button", name="Channels").click()
    b.locator("#my-channels").get_by_role("button", name="# General").click()
    expect(b.get_by_role("heading", name="# General")).to_be_visible()
    alice.send("Anyone for coffee?")
    alice.send("The new place on 5th")
    random_button = b.locator("#my-channels button", has_text="Random")
    expect(random_button).to_have_attribute("data-unread", "2")
    expect(b.locator("#total-unread")).to_contain_text("2")
    expect(b).to_have_title("(2) Backchannel")
    bob.screenshot("app-bob-phone-unread.png")
    b.get_by_role("button", name="Channels").click()
    bob.screenshot("app-bob-phone-channels.png")
    random_button.click()
    expect(bob.message("The new place on 5th")).to_be_visible()
    expect(random_button).to_have_attribute("data-unread", "0")
    expect(b).to_have_title("Backchannel")
    bob.send("On my way")
    expect(alice.message("On my way")).to_be_visible()

    # alice's view for the README: #general with an unread badge and bob typing.
    a.locator("#my-channels").get_by_role("button", name="# General").click()
    expect(a.get_by_role("heading", name="# General")).to_be_visible()
    bob.send("Coffee first, then lunch")  # in #random: unread for alice
    expect(a.locator("#my-channels button", has_text="Random")).to_have_attribute(
        "data-unread", "1"
    )
    b.get_by_role("button", name="Channels").click()
    b.locator("#my-channels").get_by_role("button", name="# General").click()
    b.get_by_label("Message", exact=True).press_sequentially("On it")
    expect(a.locator("#typing")).to_have_text("bob is typing…")
    shot = alice.screenshot("app-alice-desktop.png")
    bob.screenshot("app-bob-phone.png")
    if os.environ.get("BACKCHANNEL_UPDATE_SCREENSHOT"):
        shutil.copyfile(shot, DOCS_SCREENSHOT)

    # No reconnects: one socket each, all along.
    assert len(alice.sockets) == 1 and len(bob.sockets) == 1
    assert a.locator("#status").get_attribute("data-changes") == "2"


def test_history_pages_backwards_with_load_older(
    start_app: Callable[..., AppServer], tabs: Callable[..., Tab]
) -> None:
    app = start_app()
    path = f"/v2/Services/{app.demo.service_sid}/Channels/{app.demo.channel_sid}/Messages"
    with app.rest() as rest:
        for number in range(1, 46):
            response = rest.post(path, data={"From": "bob", "Body": f"history {number:02d}"})
            assert response.status_code == 201, response.text
    alice = tabs(app, "alice")
    alice.login("alice")
    page = alice.page
    messages = page.locator("#messages li")
    expect(messages).to_have_count(30)  # the newest page: 16..45
    expect(messages.first).to_contain_text("history 16")
    expect(messages.last).to_contain_text("history 45")
    # The newest message is in view; the button waits at the top.
    expect(messages.last).to_be_in_viewport()
    older = page.get_by_role("button", name="Load older messages")
    expect(older).to_be_visible()
    older.click()
    expect(messages).to_have_count(46)  # the welcome message and 1..45
    expect(messages.first).to_contain_text("Welcome to Backchannel")
    expect(older).to_be_hidden()
    expect(page.get_by_text("This is the start of the channel.")).to_be_visible()
    indexes = [int(i) for i in messages.evaluate_all("(items) => items.map(i => i.dataset.index)")]
    assert indexes == list(range(46))
    alice.screenshot("app-history.png")


def test_a_30_second_token_renews_on_the_live_connection(
    start_app: Callable[..., AppServer], tabs: Callable[..., Tab]
) -> None:
    app = start_app(token_ttl=30)
    alice = signed_in(tabs(app, "alice"), "alice")
    bob = signed_in(tabs(app, "bob"), "bob")
    started = time.monotonic()
    token_left = alice.page.locator("#status-token")
    expect(token_left).to_contain_text("token expires in")
    first_left = int(token_left.inner_text().split()[-2])
    assert 20 <= first_left <= 30, token_left.inner_text()

    # Chat both ways while the tokens renew: three renewals each (at 15, 30 and 45 s) take
    # alice past the expiry of her first two tokens.
    sent = 0
    while len(alice.token_requests) < 4 or len(bob.token_requests) < 4:
        assert time.monotonic() - started < 62, (alice.token_requests, bob.token_requests)
        sent += 1
        alice.send(f"ping {sent}")
        expect(bob.message(f"ping {sent}")).to_be_visible()
        bob.send(f"pong {sent}")
        expect(alice.message(f"pong {sent}")).to_be_visible()
        assert alice.page.locator("#status-state").inner_text() == "Connected"
        alice.page.wait_for_timeout(4000)
    elapsed = time.monotonic() - started
    assert elapsed > 40, elapsed  # past the first tokens' expiry (30 s)
    assert all(status == 200 for status in alice.token_requests + bob.token_requests)
    alice.send("still here")
    expect(bob.message("still here")).to_be_visible()

    # One socket each, never closed; the state changed only on the way in.
    for tab in (alice, bob):
        assert len(tab.sockets) == 1 and not tab.sockets[0].is_closed(), tab.label
        assert tab.page.locator("#status").get_attribute("data-changes") == "2", tab.label
        expect(tab.page.locator("#status-state")).to_have_text("Connected")
    left = int(token_left.inner_text().split()[-2])
    assert 0 < left <= 30
    alice.screenshot("app-token-renewal.png")


def test_logout_closes_the_socket_and_the_session(
    start_app: Callable[..., AppServer], tabs: Callable[..., Tab]
) -> None:
    app = start_app()
    alice = signed_in(tabs(app, "alice"), "alice")
    bob = signed_in(tabs(app, "bob"), "bob")
    page = alice.page
    [socket] = alice.sockets
    expect(bob.page.locator('#members li[data-identity="alice"]')).to_have_attribute(
        "data-online", "true"
    )

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="You have signed out.")).to_be_visible()
    deadline = time.monotonic() + 5
    while not socket.is_closed():
        assert time.monotonic() < deadline, "the socket is still open after logging out"
        page.wait_for_timeout(50)
    assert not page.locator("#chat-view").is_visible()
    assert page.locator("#messages li").count() == 0  # nothing of the chat is left in the page
    # The others see alice go offline.
    expect(bob.page.locator('#members li[data-identity="alice"]')).to_have_attribute(
        "data-online", "false"
    )
    # The session is gone on the server too: no more tokens, and a reload shows the login.
    status = page.evaluate("async () => (await fetch('/auth/token', {method: 'POST'})).status")
    assert status == 401
    page.reload()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert len(alice.sockets) == 1
    alice.screenshot("app-logged-out.png")


def test_signing_out_in_one_tab_ends_the_other_at_its_next_renewal(
    start_app: Callable[..., AppServer], tabs: Callable[..., Tab]
) -> None:
    app = start_app(token_ttl=20)
    first = signed_in(tabs(app, "alice"), "alice")
    # A second tab of the same browser shares the session cookie: it is signed in at once.
    other = first.context.new_page()
    errors: list[str] = []
    other.on("pageerror", lambda error: errors.append(str(error)))
    sockets: list[Any] = []
    other.on("websocket", lambda socket: sockets.append(socket))
    other.goto(app.url)
    expect(other.locator("#status-state")).to_have_text("Connected")
    assert other.get_by_label("Username").is_hidden()

    first.page.get_by_role("button", name="Log out").click()
    expect(first.page.get_by_role("heading", name="Sign in")).to_be_visible()
    # The other tab's chat token still works until it asks for the next one (at half its 20 s):
    # then the token server says 401, and the tab signs out too.
    expect(other.get_by_role("heading", name="Sign in")).to_be_visible(timeout=20_000)
    expect(other.locator("#login-message")).to_contain_text("Your sign-in has ended")
    [socket] = sockets
    deadline = time.monotonic() + 5
    while not socket.is_closed():
        assert time.monotonic() < deadline, "the other tab's socket is still open"
        other.wait_for_timeout(50)
    assert errors == []
