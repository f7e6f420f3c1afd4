"""The SDK's connection against a real server: authentication, the state machine, close codes."""

from __future__ import annotations

import asyncio
import time

import pytest

from backchannel.client import (
    Backoff,
    ChatClient,
    ChatError,
    ConnectionLostError,
    ConnectionState,
    ConnectionStateError,
    SessionClosedError,
)
from backchannel.client.connection import Connection, websocket_url
from backchannel.client.events import EventEmitter
from backchannel.client.states import close_kind
from conftest import ChatService  # tests/conftest.py

from .support import Recorder, run

FAST = Backoff(initial=0.05, maximum=0.5)


def test_create_authenticates_and_reports_the_user_and_service(live_server: ChatService) -> None:
    async def scenario() -> None:
        client = await ChatClient.create(live_server.token("alice"), url=live_server.url)
        try:
            assert client.connection_state == "connected"
            assert client.user.identity == "alice"
            assert client.user.sid.startswith("US")
            assert client.service["sid"] == live_server.service_sid
            assert client.token_expires_in is not None
            assert 3590 < client.token_expires_in <= 3600
        finally:
            await client.shutdown()
        assert client.connection_state == "disconnected"

    run(scenario())


def test_every_state_change_is_emitted_once(live_server: ChatService) -> None:
    async def scenario() -> None:
        client = ChatClient(live_server.token(), url=live_server.url)
        states: list[str] = []
        client.on("connectionStateChanged", states.append)
        await client._connection.start()
        await client.shutdown()
        assert states == ["connecting", "connected", "disconnected"]

    run(scenario())


@pytest.mark.parametrize(
    ("make_token", "code", "close_code"),
    [
        pytest.param(lambda live: live.token(secret="x" * 40), 20107, 4207, id="bad-signature"),
        pytest.param(
            lambda live: live.token(
                nbf=int(time.time()) - 7200, valid_until=int(time.time()) - 600
            ),
            20104,
            4104,
            id="expired",
        ),
        pytest.param(lambda live: live.token(key_sid="SK" + "0" * 32), 20103, 4203, id="no-key"),
        pytest.param(lambda live: "not.a.token", 20101, 4201, id="malformed"),
    ],
)
def test_create_raises_the_twilio_code_of_a_refused_token(
    live_server: ChatService, make_token: object, code: int, close_code: int
) -> None:
    async def scenario() -> None:
        with pytest.raises(ChatError) as raised:
            await ChatClient.create(make_token(live_server), url=live_server.url)  # type: ignore[operator]
        assert raised.value.code == code
        assert raised.value.status == 401
        assert isinstance(raised.value, SessionClosedError)
        assert raised.value.close_code == close_code
        assert raised.value.message

    run(scenario())


def test_a_terminal_refusal_on_connect_ends_denied_without_retrying(
    live_server: ChatService,
) -> None:
    async def scenario() -> None:
        calls = 0

        def provider() -> str:
            nonlocal calls
            calls += 1
            return live_server.token()

        client = ChatClient(
            live_server.token(secret="y" * 40), live_server.url, provider, backoff=FAST
        )
        errors = Recorder(client, "connectionError")
        with pytest.raises(ChatError) as raised:
            await client._connection.start()
        assert raised.value.code == 20107
        assert client.connection_state == "denied"
        assert [error.code for error in errors.of("connectionError")] == [20107]
        assert calls == 0  # a terminal close is not "renew": no token was asked for
        await client.shutdown()
        assert client.connection_state == "denied"

    run(scenario())


def test_an_expired_token_with_a_provider_is_renewed_before_create_returns(
    live_server: ChatService,
) -> None:
    async def scenario() -> None:
        expired = live_server.token(nbf=int(time.time()) - 7200, valid_until=int(time.time()) - 60)
        client = await ChatClient.create(
            expired, url=live_server.url, token_provider=lambda: live_server.token(), backoff=FAST
        )
        assert client.connection_state == "connected"
        await client.shutdown()

    run(scenario())


def test_an_unreachable_server_fails_create_with_code_0() -> None:
    async def scenario() -> None:
        with pytest.raises(ConnectionLostError) as raised:
            await ChatClient.create("token", url="http://127.0.0.1:9")
        assert raised.value.code == 0

    run(scenario())


def test_requests_after_shutdown_fail_with_connection_lost(live_server: ChatService) -> None:
    async def scenario() -> None:
        client = await ChatClient.create(live_server.token(), url=live_server.url)
        await client.shutdown()
        with pytest.raises(ChatError) as raised:
            await client.get_channel_by_unique_name("anything")
        assert raised.value.code == 0
        assert "not connected" in raised.value.message

    run(scenario())


def test_update_token_swaps_the_token_on_the_live_session(live_server: ChatService) -> None:
    async def scenario() -> None:
        client = await ChatClient.create(live_server.token(ttl=600), url=live_server.url)
        states = Recorder(client, "connectionStateChanged")
        await client.update_token(live_server.token(ttl=3000))
        assert client._connection.token_expires_at is not None
        assert client._connection.token_expires_at > time.time() + 2900
        with pytest.raises(ChatError) as raised:
            await client.update_token(live_server.token("mallory"))
        assert raised.value.code == 20106
        assert client.connection_state == "connected"
        assert states.events == []
        await client.shutdown()

    run(scenario())


def test_an_illegal_transition_raises() -> None:
    connection = Connection(
        "http://127.0.0.1:1", "t", emitter=EventEmitter(), on_ready=print, on_event=print
    )
    with pytest.raises(ConnectionStateError):
        connection._transition(ConnectionState.CONNECTED)
    connection._transition(ConnectionState.CONNECTING)
    with pytest.raises(ConnectionStateError):
        connection._transition(ConnectionState.CONNECTING)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8080", "ws://127.0.0.1:8080/client/v1/ws"),
        ("https://chat.example.com/", "wss://chat.example.com/client/v1/ws"),
        ("https://example.com/chat", "wss://example.com/chat/client/v1/ws"),
        ("ws://h:1/client/v1/ws", "ws://h:1/client/v1/ws"),
    ],
)
def test_the_websocket_url_derives_from_the_http_url(url: str, expected: str) -> None:
    assert websocket_url(url) == expected


def test_a_url_that_is_not_http_is_refused() -> None:
    with pytest.raises(ValueError, match="http"):
        websocket_url("ftp://example.com")


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (1000, "normal"),
        (1001, "reconnect"),
        (1006, "reconnect"),
        (4000, "reconnect"),
        (4099, "reconnect"),
        (4100, "renew"),
        (4104, "renew"),
        (4199, "renew"),
        (4200, "terminal"),
        (4203, "terminal"),
        (4299, "terminal"),
    ],
)
def test_close_codes_fall_in_the_documented_ranges(code: int, kind: str) -> None:
    assert close_kind(code) == kind


def test_backoff_grows_is_capped_and_jittered() -> None:
    backoff = Backoff(initial=1.0, maximum=8.0, factor=2.0, jitter=0.5)
    for attempt, base in [(0, 1.0), (1, 2.0), (2, 4.0), (3, 8.0), (10, 8.0), (1000, 8.0)]:
        delays = {backoff.delay(attempt) for _ in range(50)}
        assert all(base / 2 <= delay <= base for delay in delays)
        assert len(delays) > 1


def test_async_and_sync_callbacks_both_run(live_server: ChatService) -> None:
    async def scenario() -> None:
        seen: list[str] = []

        async def async_callback(state: str) -> None:
            await asyncio.sleep(0)
            seen.append(f"async:{state}")

        client = ChatClient(live_server.token(), url=live_server.url)
        client.on("connectionStateChanged", lambda state: seen.append(f"sync:{state}"))
        client.on("connectionStateChanged", async_callback)
        await client._connection.start()
        await client.shutdown()
        assert [s for s in seen if s.startswith("sync:")] == [
            "sync:connecting",
            "sync:connected",
            "sync:disconnected",
        ]
        assert sorted(s for s in seen if s.startswith("async:")) == [
            "async:connected",
            "async:connecting",
            "async:disconnected",
        ]

    run(scenario())
