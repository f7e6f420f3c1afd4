"""Two server nodes sharing one PostgreSQL database and a Redis broker: live sessions on one
node hear what happens on the other, and revocations reach them."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator

import pytest
import redis

from conftest import ChatService, RunningServer, open_tenant  # tests/conftest.py

from .conftest import authenticate, closed_with, receive, request

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def two_nodes(database_url: str, master_key: str) -> Iterator[tuple[RunningServer, RunningServer]]:
    if not database_url.startswith("postgresql"):
        pytest.skip("several nodes share a PostgreSQL database")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is not reachable on 127.0.0.1:6379: {exc}")
        pytest.skip(f"Redis is not reachable on 127.0.0.1:6379: {exc}")
    from backchannel.config import Config

    broker = f"{REDIS_URL}#backchannel-test-{secrets.token_hex(4)}:"
    config = Config(database_url=database_url, master_key=master_key, broker_url=broker)
    nodes = (RunningServer(config), RunningServer(config))
    for node in nodes:
        node.start()
    try:
        yield nodes
    finally:
        for node in nodes:
            node.stop()


def test_a_message_sent_on_one_node_reaches_a_member_on_the_other(
    two_nodes: tuple[RunningServer, RunningServer],
) -> None:
    first, second = two_nodes
    chat = ChatService(open_tenant(first))
    elsewhere = ChatService(chat.handle.on(second), chat.service_sid)

    async def scenario() -> None:
        alice, _ = await authenticate(chat, chat.token("alice"))
        bob, _ = await authenticate(elsewhere, elsewhere.token("bob"))
        async with alice, bob:
            created = await request(alice, "createChannel", unique_name="across")
            channel = created["result"]["channel"]["sid"]
            assert (await request(bob, "joinChannel", channel=channel))["ok"]
            await request(alice, "sendMessage", 2, channel=channel, body="over redis")
            async with asyncio.timeout(5):
                while True:
                    frame = await receive(bob)
                    if frame.get("event") == "messageAdded":
                        break
            assert frame["data"]["body"] == "over redis"
            # A REST change on the first node reaches the second node's session too.
            chat.rest.chat.v2.services(chat.service_sid).channels(channel).messages.create(
                body="from rest"
            )
            async with asyncio.timeout(5):
                while True:
                    frame = await receive(bob)
                    if frame.get("event") == "messageAdded":
                        break
            assert frame["data"]["body"] == "from rest"

    asyncio.run(scenario())


def test_deleting_a_key_on_one_node_closes_sessions_on_the_other(
    two_nodes: tuple[RunningServer, RunningServer],
) -> None:
    first, second = two_nodes
    chat = ChatService(open_tenant(first))
    elsewhere = ChatService(chat.handle.on(second), chat.service_sid)
    key = chat.rest.new_keys.create(friendly_name="doomed")

    async def scenario() -> None:
        ws, _ = await authenticate(
            elsewhere, elsewhere.token("alice", key_sid=key.sid, secret=key.secret)
        )
        async with ws:
            await asyncio.to_thread(chat.rest.keys(key.sid).delete)
            code, reason = await closed_with(ws, timeout=3)
            assert (code, reason["code"]) == (4203, 20103)

    asyncio.run(scenario())
