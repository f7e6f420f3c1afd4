"""The token lifecycle through the SDK: renewal on a live session, expiry, renew closes, denial.

Tokens here live a few seconds: for tokens under 6 minutes the server warns at half their
lifetime, so a 4-second token is renewed about every 2 seconds.
"""

from __future__ import annotations

import asyncio

import pytest

from backchannel.client import Backoff, ChatClient, ChatError
from conftest import ChatService  # tests/conftest.py

from .support import Recorder, run

FAST = Backoff(initial=0.05, maximum=0.5)


def test_a_token_provider_renews_short_tokens_on_the_live_session_without_reconnecting(
    live_server: ChatService,
) -> None:
    async def scenario() -> None:
        minted: list[str] = []

        async def provider() -> str:
            minted.append(live_server.token(ttl=4))
            return minted[-1]

        client = await ChatClient.create(
            live_server.token(ttl=4), url=live_server.url, token_provider=provider
        )
        events = Recorder(client, "tokenAboutToExpire", "tokenExpired", "connectionStateChanged")
        await events.wait("tokenAboutToExpire", count=4, timeout=20)
        await asyncio.sleep(0.5)  # the fourth renewal lands
        assert len(minted) >= 4
        assert client._connection.token == minted[-1]
        assert events.of("tokenExpired") == []
        assert events.of("connectionStateChanged") == []  # never reconnected
        assert all(
            isinstance(left, int) and 0 <= left <= 4 for left in events.of("tokenAboutToExpire")
        )
        channel = await client.create_channel(unique_name="still-here")
        assert channel.sid.startswith("CH")
        await client.shutdown()

    run(scenario())


def test_without_a_provider_an_expired_token_ends_disconnected_with_token_expired(
    live_server: ChatService,
) -> None:
    async def scenario() -> None:
        client = await ChatClient.create(live_server.token(ttl=2), url=live_server.url)
        events = Recorder(client, "tokenAboutToExpire", "tokenExpired", "connectionStateChanged")
        await events.wait("connectionStateChanged", where=lambda state: state == "disconnected")
        assert len(events.of("tokenAboutToExpire")) == 1
        assert len(events.of("tokenExpired")) == 1
        assert events.of("connectionStateChanged") == ["disconnected"]
        with pytest.raises(ChatError) as raised:
            await client.get_channel_by_unique_name("x")
        assert raised.value.code == 0
        # A new token gets it going again.
        await client.update_token(live_server.token())
        assert client.connection_state == "connected"
        await client.shutdown()

    run(scenario())


def test_after_a_renew_close_the_provider_token_reconnects(live_server: ChatService) -> None:
    async def scenario() -> None:
        failing = True
        calls = 0

        def provider() -> str:
            nonlocal calls
            calls += 1
            if failing:
                raise RuntimeError("token server down")
            return live_server.token(ttl=3600)

        client = await ChatClient.create(
            live_server.token(ttl=2), url=live_server.url, token_provider=provider, backoff=FAST
        )
        events = Recorder(client, "tokenExpired", "connectionStateChanged")
        await events.wait("tokenExpired", timeout=10)  # renewal kept failing until expiry
        assert calls >= 2  # retried with backoff
        failing = False
        await events.wait("connectionStateChanged", where=lambda state: state == "connected")
        assert events.of("connectionStateChanged") == ["connecting", "connected"]
        assert client.token_expires_in is not None and client.token_expires_in > 3000
        await client.shutdown()

    run(scenario())


def test_deleting_the_signing_key_denies_the_session(live_server: ChatService) -> None:
    async def scenario() -> None:
        key = await asyncio.to_thread(live_server.rest.new_keys.create, friendly_name="doomed")
        token = live_server.token(key_sid=key.sid, secret=key.secret)
        calls = 0

        def provider() -> str:
            nonlocal calls
            calls += 1
            return token

        client = await ChatClient.create(token, url=live_server.url, token_provider=provider)
        events = Recorder(client, "connectionError", "connectionStateChanged")
        await asyncio.to_thread(live_server.rest.keys(key.sid).delete)
        [error] = await events.wait("connectionError", timeout=5)
        assert error.code == 20103
        assert error.message
        assert client.connection_state == "denied"
        assert events.of("connectionStateChanged") == ["denied"]
        await asyncio.sleep(0.5)
        assert calls == 0  # no retry forever: not even a token was asked for
        assert events.of("connectionStateChanged") == ["denied"]
        await client.shutdown()

    run(scenario())
