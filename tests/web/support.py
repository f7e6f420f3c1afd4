"""The browser side of the web tests: the test page, a ``Tab`` per browser context, and ``Web``
(a chat service on the test's server, its tokens, and tabs on it). Fixtures are in conftest.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from backchannel.tokens import AccessToken
from backchannel.tokens.grants import ChatGrant
from conftest import ServerHandle  # tests/conftest.py

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PAGE_PATH = "/__test__/backchannel.html"
TIMEOUT_MS = 15_000

# Every event the SDK emits on a client; a channel emits the message, member, typing and channel
# events of its own.
CLIENT_EVENTS = [
    "connectionStateChanged",
    "connectionError",
    "tokenAboutToExpire",
    "tokenExpired",
    "messageAdded",
    "messageUpdated",
    "messageRemoved",
    "memberJoined",
    "memberLeft",
    "memberUpdated",
    "channelAdded",
    "channelUpdated",
    "channelRemoved",
    "channelJoined",
    "channelLeft",
    "channelInvited",
    "typingStarted",
    "typingEnded",
    "userUpdated",
]

TEST_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>backchannel.js test page</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1rem; color: #222; }
  h1 { font-size: 1.2rem; margin: 0 0 .5rem; }
  #status { padding: .3rem .5rem; background: #eef; border-radius: 4px; }
  #log { list-style: none; padding: 0; }
  #log li { padding: .15rem 0; border-bottom: 1px solid #eee; }
  .name { color: #555; font-family: monospace; margin-right: .5rem; }
  .message { font-weight: 600; }
</style>
</head>
<body>
<h1>backchannel.js — <span id="who">not connected</span></h1>
<p id="status">state: <b id="state">-</b> · token expires in <b id="ttl">-</b></p>
<ol id="log"></ol>
<script type="module">
import * as bc from "/static/backchannel.js";

const CLIENT_EVENTS = __CLIENT_EVENTS__;
const CHANNEL_EVENTS = CLIENT_EVENTS.filter((name) => !/^(connection|token|user)/.test(name));
const log = document.getElementById("log");

function describe(name, data, extra) {
  if (data && typeof data === "object") {
    if ("body" in data && "author" in data) return `${data.author}: ${data.body} (#${data.index})`;
    if ("identity" in data && "channelSid" in data) return data.identity;
    if ("friendlyName" in data) return `${data.friendlyName ?? data.sid} ${extra ?? ""}`;
    if ("code" in data) return `${data.code} ${data.message}`;
  }
  return JSON.stringify(data);
}

window.bc = bc;
window.events = [];
window.record = (label, target, names) => {
  for (const name of names) {
    target.on(name, (obj, extra) => {
      const data = obj !== null && typeof obj === "object" ? JSON.parse(JSON.stringify(obj)) : obj;
      window.events.push({ label, name, data, extra: extra ?? null, at: Date.now() });
      const item = document.createElement("li");
      item.innerHTML = `<span class="name"></span><span></span>`;
      item.firstChild.textContent = `${label} · ${name}`;
      item.lastChild.textContent = describe(name, data, extra);
      if (name === "messageAdded") item.lastChild.className = "message";
      log.append(item);
    });
  }
};
window.recordChannel = (label, channel) => window.record(label, channel, CHANNEL_EVENTS);
window.named = (name, label) =>
  window.events.filter((e) => e.name === name && (label === undefined || e.label === label));

/** Connect as the page's client: resolves with {ok, state} or {ok: false, error, state}. */
window.connect = async (token, options = {}) => {
  const { renewIdentity, renewTtl, ...rest } = options;
  if (renewIdentity) rest.tokenProvider = () => window.mintToken(renewIdentity, renewTtl);
  const client = new bc.Client(token, rest);
  window.client = client;
  window.record("client", client, CLIENT_EVENTS);
  client.on("connectionStateChanged", (state) => {
    document.getElementById("state").textContent = state;
  });
  setInterval(() => {
    const left = client.tokenExpiresIn();
    document.getElementById("ttl").textContent = left === null ? "-" : `${left.toFixed(1)} s`;
  }, 200);
  try {
    await client.initialize();
    document.getElementById("who").textContent = client.user.identity;
    return { ok: true, state: client.connectionState };
  } catch (error) {
    return { ok: false, error: error.toJSON ? error.toJSON() : String(error),
             state: client.connectionState };
  }
};
window.bcLoaded = true;
</script>
</body>
</html>
""".replace("__CLIENT_EVENTS__", json.dumps(CLIENT_EVENTS))


class Tab:
    """One browser context (one user's browser) with the test page open."""

    def __init__(self, label: str, context: Any, page: Any) -> None:
        self.label = label
        self.context = context
        self.page = page
        self.page_errors: list[str] = []
        self.console: list[str] = []
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.on("console", lambda message: self.console.append(f"{message.type}: {message.text}"))

    def js(self, script: str, arg: Any = None) -> Any:
        """``page.evaluate``: ``script`` is a JS function (maybe async) of ``arg``."""
        return self.page.evaluate(script, arg)

    def wait(self, predicate: str, arg: Any = None, timeout: float = TIMEOUT_MS) -> Any:
        """Wait until the JS function ``predicate(arg)`` is truthy; returns its value."""
        handle = self.page.wait_for_function(predicate, arg=arg, timeout=timeout)
        return handle.json_value()

    def connect(self, token: str, **options: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.js("([t, o]) => connect(t, o)", [token, options])
        return result

    def events(self, name: str, label: str | None = None) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.js("([n, l]) => named(n, l ?? undefined)", [name, label])
        return found

    def wait_event(
        self, name: str, where: str = "true", label: str | None = None, count: int = 1
    ) -> list[dict[str, Any]]:
        """Wait for ``count`` events ``name`` whose ``e`` (``{label, name, data, extra}``)
        satisfies the JS expression ``where``; returns them."""
        predicate = f"""([n, l, c]) => {{
            const found = named(n, l ?? undefined).filter((e) => {where});
            return found.length >= c ? found : null;
        }}"""
        found: list[dict[str, Any]] = self.wait(predicate, [name, label, count])
        return found

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / name
        self.page.screenshot(path=str(path), full_page=True)
        return path


class Web:
    """A chat service on the test's server, its tokens, and browser tabs on it."""

    def __init__(self, server: ServerHandle, browser: Any) -> None:
        self.server = server
        self.browser = browser
        self.rest = server.twilio_client()
        self.service_sid: str = self.rest.chat.v2.services.create(friendly_name="web").sid
        self.minted: dict[str, int] = {}
        self.tabs: list[Tab] = []

    @property
    def url(self) -> str:
        return self.server.url

    def token(
        self, identity: str, ttl: int = 3600, *, secret: str | None = None, **kwargs: Any
    ) -> str:
        token = AccessToken(
            self.server.account_sid,
            self.server.key_sid,
            secret or self.server.key_secret,
            identity=identity,
            ttl=ttl,
            **kwargs,
        )
        token.add_grant(ChatGrant(service_sid=self.service_sid))
        return token.to_jwt()

    def _mint(self, identity: str, ttl: int | None) -> str:
        self.minted[identity] = self.minted.get(identity, 0) + 1
        return self.token(identity, ttl or 3600)

    def open(self, label: str) -> Tab:
        """A fresh browser context with the test page loaded and ``window.bc`` ready."""
        context = self.browser.new_context(viewport={"width": 900, "height": 700})
        context.set_default_timeout(TIMEOUT_MS)
        context.expose_function("mintToken", self._mint)
        tab = Tab(label, context, context.new_page())
        self.tabs.append(tab)
        tab.page.goto(f"{self.url}{PAGE_PATH}")
        tab.wait("() => window.bcLoaded === true")
        return tab

    def close(self) -> None:
        for tab in self.tabs:
            try:
                tab.js("() => window.client && window.client.shutdown()")
            finally:
                tab.context.close()


def states_of(tab: Tab) -> list[str]:
    """The page client's ``connectionStateChanged`` states, in order."""
    return [event["data"] for event in tab.events("connectionStateChanged", "client")]
