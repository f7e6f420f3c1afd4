"""Reconnecting: after a server restart or a dropped socket, nothing is lost and nothing doubled."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from backchannel.client import Backoff, ChatClient, ChatError, Message
from conftest import ChatService, RunningServer  # tests/conftest.py

from .support import Recorder, run

FAST = Backoff(initial=0.05, maximum=0.2)
SLOW = Backoff(initial=1.5, maximum=1.5, jitter=0.0)


def drop(client: ChatClient) -> None:
    """Cut the client's socket without a close frame, as a network failure would."""
    ws = client._connection._ws
    assert ws is not None
    ws.transport.abort()


def indexes(messages: list[Message]) -> list[int]:
    return [message.index for message in messages]


def test_a_server_restart_loses_and_doubles_nothing(
    live_server: ChatService, restartable: Callable[[ChatService], RunningServer]
) -> None:
    server = restartable(live_server)

    async def scenario() -> None:
        # Alice comes back slowly, so Bob's messages after the restart reach her by resume.
        alice = await ChatClient.create(live_server.token("alice"), server.url, backoff=SLOW)
        bob = await ChatClient.create(live_server.token("bob"), server.url, backoff=FAST)
        heard = Recorder(alice, "messageAdded", "connectionStateChanged")
        mine = await alice.create_channel(unique_name="restart")
        theirs = await bob.get_channel_by_sid(mine.sid)
        await theirs.join()
        for i in range(3):
            await theirs.send_message(f"before {i}")
        await heard.wait("messageAdded", count=3)

        await asyncio.to_thread(server.stop)
        assert alice.connection_state == "connecting"
        # Sent while the server is down: each waits for the reconnect, then is sent once.
        during = [asyncio.create_task(theirs.send_message(f"during {i}")) for i in range(3)]
        await asyncio.sleep(0.2)
        with pytest.raises(ChatError) as raised:
            await theirs.get_messages()  # other requests do not wait: code 0
        assert raised.value.code == 0
        await asyncio.to_thread(server.restart)
        sent_during = await asyncio.gather(*during)
        # Alice is usually still away and gets these by resume; on a slow machine she may be
        # back already and get them live. Either way, each exactly once (below).
        for i in range(3):
            await theirs.send_message(f"after {i}")

        await heard.wait("messageAdded", count=9, timeout=15)
        await asyncio.sleep(0.3)  # anything doubled would show up by now
        received = heard.of("messageAdded")
        assert indexes(received) == list(range(9))
        assert sorted(sent_during) == [3, 4, 5]
        assert [m.body for m in received[:3]] == ["before 0", "before 1", "before 2"]
        assert {m.body for m in received[3:6]} == {"during 0", "during 1", "during 2"}
        assert [m.body for m in received[6:]] == ["after 0", "after 1", "after 2"]
        states = heard.of("connectionStateChanged")
        assert states == ["connecting", "connected"]
        stored = await mine.get_messages(page_size=50)
        assert indexes(stored.items) == list(range(9))
        await alice.shutdown()
        await bob.shutdown()

    run(scenario())


def test_a_send_in_flight_when_the_socket_drops_is_stored_once(live_server: ChatService) -> None:
    async def scenario() -> None:
        alice = await ChatClient.create(live_server.token("alice"), live_server.url, backoff=FAST)
        bob = await ChatClient.create(live_server.token("bob"), live_server.url, backoff=FAST)
        heard = Recorder(bob, "messageAdded")
        states = Recorder(alice, "connectionStateChanged")
        mine = await alice.create_channel(unique_name="flaky")
        await (await bob.get_channel_by_sid(mine.sid)).join()

        sending = asyncio.create_task(mine.send_message("exactly once"))
        fetching = asyncio.create_task(mine.get_messages())
        await asyncio.sleep(0)  # both requests are on the wire
        drop(alice)
        with pytest.raises(ChatError) as raised:
            await fetching
        assert (raised.value.code, raised.value.message) == (0, "connection lost")
        assert await sending == 0
        assert states.of("connectionStateChanged") == ["connecting", "connected"]

        await heard.wait("messageAdded")
        await asyncio.sleep(0.3)
        assert [m.body for m in heard.of("messageAdded")] == ["exactly once"]
        assert [m.body for m in (await mine.get_messages()).items] == ["exactly once"]
        await alice.shutdown()
        await bob.shutdown()

    run(scenario())


def test_a_dropped_socket_resumes_the_messages_missed_meanwhile(live_server: ChatService) -> None:
    async def scenario() -> None:
        alice = await ChatClient.create(live_server.token("alice"), live_server.url, backoff=SLOW)
        bob = await ChatClient.create(live_server.token("bob"), live_server.url, backoff=FAST)
        heard = Recorder(alice, "messageAdded")
        mine = await alice.create_channel(unique_name="gap")
        theirs = await bob.get_channel_by_sid(mine.sid)
        await theirs.join()
        await theirs.send_message("seen live")
        await heard.wait("messageAdded")

        drop(alice)  # she is away for 1.5 s
        for i in range(4):
            await theirs.send_message(f"missed {i}")
        assert alice.connection_state == "connecting"
        await heard.wait("messageAdded", count=5, timeout=10)
        await theirs.send_message("live again")
        await heard.wait("messageAdded", count=6)
        await asyncio.sleep(0.3)
        assert indexes(heard.of("messageAdded")) == list(range(6))
        await alice.shutdown()
        await bob.shutdown()

    run(scenario())


def test_a_fresh_client_resumes_its_channels_without_replaying_history(
    live_server: ChatService,
) -> None:
    async def scenario() -> None:
        async with await ChatClient.create(live_server.token("alice"), live_server.url) as first:
            channel = await first.create_channel(unique_name="old")
            for i in range(3):
                await channel.send_message(f"history {i}")
        bob = await ChatClient.create(live_server.token("bob"), live_server.url, backoff=FAST)
        theirs = await bob.get_channel_by_unique_name("old")
        await theirs.join()

        # A new client of alice's has seen none of the channel's messages, and never asked.
        alice = await ChatClient.create(live_server.token("alice"), live_server.url, backoff=SLOW)
        heard = Recorder(alice, "messageAdded")
        await asyncio.sleep(0.3)  # it learns its channels in the background
        drop(alice)
        await theirs.send_message("while away")
        assert alice.connection_state == "connecting"
        [message] = await heard.wait("messageAdded", timeout=10)
        assert (message.index, message.body) == (3, "while away")
        await asyncio.sleep(0.3)
        assert len(heard.of("messageAdded")) == 1
        await alice.shutdown()
        await bob.shutdown()

    run(scenario())
