"""The broker's contract, run against every implementation; then what only Redis adds.

Tests are plain functions running their body with ``asyncio.run`` (see ``async_test``), which also
checks that the body left no task behind. Redis tests use a random channel prefix, so runs
sharing one server never see each other; without Redis on 127.0.0.1:6379 they skip, unless
``CI=true``, where they fail.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from redis.asyncio import Redis

from backchannel.realtime.broker import (
    Broker,
    BrokerUnavailableError,
    MemoryBroker,
    Subscription,
    make_broker,
)
from backchannel.realtime.redis_broker import RedisBroker

REDIS_URL = "redis://127.0.0.1:6379/0"

NewBroker = Callable[[], Broker]


def async_test(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        async def guarded() -> None:
            async with asyncio.timeout(30):
                await test(*args, **kwargs)
            leftover = asyncio.all_tasks() - {asyncio.current_task()}
            assert not leftover, f"tasks left running: {leftover}"

        asyncio.run(guarded())

    return run


def require_redis() -> None:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError as exc:
        reason = f"Redis is not reachable on 127.0.0.1:6379 ({exc})"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


def random_prefix() -> str:
    return f"test-{secrets.token_hex(6)}:"


@pytest.fixture(params=["memory", "redis"])
def new_broker(request: pytest.FixtureRequest) -> NewBroker:
    """A factory of unstarted brokers of one kind (Redis ones share a fresh random prefix)."""
    if request.param == "memory":
        return MemoryBroker
    require_redis()
    prefix = random_prefix()
    return lambda: RedisBroker(REDIS_URL, prefix=prefix)


@pytest.fixture
def prefix() -> str:
    require_redis()
    return random_prefix()


class Recorder:
    """A handler that remembers what it got."""

    def __init__(self) -> None:
        self.got: list[tuple[str, str]] = []

    def __call__(self, topic: str, data: str) -> None:
        self.got.append((topic, data))

    @property
    def data(self) -> list[str]:
        return [data for _, data in self.got]


async def until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} s")
        await asyncio.sleep(0.005)


# -- every broker ---------------------------------------------------------------------------


@async_test
async def test_subscriber_receives_topic_and_data(new_broker: NewBroker) -> None:
    async with new_broker() as broker:
        got = Recorder()
        broker.subscribe("room", got)
        await broker.publish("room", '{"event":"messageAdded"}')
        assert got.got == [("room", '{"event":"messageAdded"}')]


@async_test
async def test_handlers_of_a_topic_run_in_subscription_order(new_broker: NewBroker) -> None:
    async with new_broker() as broker:
        calls: list[int] = []
        for n in range(5):
            broker.subscribe("room", lambda topic, data, n=n: calls.append(n))
        await broker.publish("room", "x")
        assert calls == [0, 1, 2, 3, 4]


@async_test
async def test_thousand_messages_arrive_in_publish_order(new_broker: NewBroker) -> None:
    async with new_broker() as broker:
        first, second = Recorder(), Recorder()
        broker.subscribe("room", first)
        broker.subscribe("room", second)
        sent = [str(n) for n in range(1000)]
        for data in sent:
            await broker.publish("room", data)
        assert first.data == sent
        assert second.data == sent


@async_test
async def test_closed_subscription_receives_nothing_more(new_broker: NewBroker) -> None:
    async with new_broker() as broker:
        gone, stays = Recorder(), Recorder()
        subscription = broker.subscribe("room", gone)
        broker.subscribe("room", stays)
        await broker.publish("room", "1")
        subscription.close()
        subscription.close()
        await broker.publish("room", "2")
        assert subscription.closed
        assert gone.data == ["1"]
        assert stays.data == ["1", "2"]


@async_test
async def test_raising_handler_stops_neither_others_nor_the_publisher(
    new_broker: NewBroker, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(topic: str, data: str) -> None:
        raise RuntimeError("handler bug")

    async with new_broker() as broker:
        before, after = Recorder(), Recorder()
        broker.subscribe("room", before)
        broker.subscribe("room", explode)
        broker.subscribe("room", after)
        with caplog.at_level(logging.ERROR):
            await broker.publish("room", "1")
            await broker.publish("room", "2")
        assert before.data == after.data == ["1", "2"]
        failures = [r for r in caplog.records if r.exc_info and "handler bug" in str(r.exc_info[1])]
        assert len(failures) == 2


@async_test
async def test_handler_may_close_and_open_subscriptions_mid_dispatch(new_broker: NewBroker) -> None:
    async with new_broker() as broker:
        later, newcomer = Recorder(), Recorder()
        opened: list[Subscription] = []

        def rearrange(topic: str, data: str) -> None:
            if not opened:
                victim.close()
                opened.append(broker.subscribe("room", newcomer))

        broker.subscribe("room", rearrange)
        victim = broker.subscribe("room", later)
        await broker.publish("room", "1")
        await broker.publish("room", "2")
        assert later.data == []  # closed by an earlier handler of the same message
        assert newcomer.data == ["2"]  # opened during "1": starts with the next message


@async_test
async def test_many_topics_reach_only_their_own_subscribers(new_broker: NewBroker) -> None:
    async with new_broker() as broker:
        recorders = {f"channel:{n}": Recorder() for n in range(300)}
        for topic, recorder in recorders.items():
            broker.subscribe(topic, recorder)
        for topic in recorders:
            await broker.publish(topic, topic.upper())
        await broker.publish("channel:nobody", "into the void")
        for topic, recorder in recorders.items():
            assert recorder.got == [(topic, topic.upper())]


@async_test
async def test_subscribe_many_subscribes_one_handler_to_each_topic(new_broker: NewBroker) -> None:
    async with new_broker() as broker:
        got = Recorder()
        subscriptions = broker.subscribe_many(["a", "b", "c"], got)
        for topic in ("c", "b", "a"):
            await broker.publish(topic, topic)
        subscriptions[1].close()
        await broker.publish("b", "again")
        assert got.got == [("c", "c"), ("b", "b"), ("a", "a")]
        assert [s.topic for s in subscriptions] == ["a", "b", "c"]


@async_test
async def test_publish_to_ten_thousand_subscribers_is_a_tight_loop(new_broker: NewBroker) -> None:
    async with new_broker() as broker:
        counts = [0]

        def count(topic: str, data: str) -> None:
            counts[0] += 1

        handlers = [count] * 10_000
        for handler in handlers:
            broker.subscribe("crowd", handler)
        started = time.perf_counter()
        for _ in range(20):
            for handler in handlers:  # the floor: calling each handler, and nothing else
                handler("crowd", "{}")
        floor = time.perf_counter() - started
        started = time.perf_counter()
        for _ in range(20):
            await broker.publish("crowd", "{}")
        elapsed = time.perf_counter() - started
        assert counts[0] == 400_000
        assert elapsed < 4 * floor + 0.05, f"{elapsed:.3f} s against a floor of {floor:.3f} s"


@async_test
async def test_close_is_idempotent_and_ends_every_subscription(new_broker: NewBroker) -> None:
    broker = new_broker()
    await broker.close()  # never started: still fine
    await broker.close()

    broker = new_broker()
    await broker.start()
    got = Recorder()
    subscription = broker.subscribe("room", got)
    await broker.close()
    await broker.close()
    assert subscription.closed
    subscription.close()
    await broker.publish("room", "late")  # shutting down: dropped, not an error
    assert broker.subscribe("room", got).closed
    await subscription.ready()  # a closed subscription is never waited for
    assert got.got == []


@async_test
async def test_publish_before_start_is_a_programming_error(new_broker: NewBroker) -> None:
    broker = new_broker()
    try:
        with pytest.raises(RuntimeError, match="before start"):
            await broker.publish("room", "x")
    finally:
        await broker.close()


@async_test
async def test_subscription_made_before_start_is_ready_after_it(new_broker: NewBroker) -> None:
    broker = new_broker()
    got = Recorder()
    subscription = broker.subscribe("room", got)
    async with broker:
        await subscription.ready()
        await broker.publish("room", "x")
        assert got.data == ["x"]


# -- Redis: several nodes ------------------------------------------------------------------


async def numsub(channel: str) -> int:
    async with Redis.from_url(REDIS_URL, decode_responses=True) as redis:
        [(_, count)] = await redis.pubsub_numsub(channel)
        return int(count)


@async_test
async def test_nodes_see_each_others_messages_and_their_own_once(prefix: str) -> None:
    async with (
        RedisBroker(REDIS_URL, prefix=prefix) as one,
        RedisBroker(REDIS_URL, prefix=prefix) as two,
    ):
        got_one, got_two = Recorder(), Recorder()
        await one.subscribe("room", got_one).ready()
        await two.subscribe("room", got_two).ready()
        await one.publish("room", "from one")
        await two.publish("room", "from two")
        await until(lambda: len(got_one.got) == 2 and len(got_two.got) == 2)
        await asyncio.sleep(0.2)  # time enough for a duplicate to show up, were there one
        assert got_one.data == ["from one", "from two"]
        assert got_two.data == ["from two", "from one"]  # own first: it skips the round trip
    assert await numsub(prefix + "room") == 0
    async with Redis.from_url(REDIS_URL) as redis:
        assert [key async for key in redis.scan_iter(match=prefix + "*")] == []


@async_test
async def test_another_node_gets_a_publishers_messages_in_order(prefix: str) -> None:
    async with (
        RedisBroker(REDIS_URL, prefix=prefix) as one,
        RedisBroker(REDIS_URL, prefix=prefix) as two,
    ):
        got = Recorder()
        await two.subscribe("room", got).ready()
        sent = [f'{{"n":{n}}}' for n in range(1000)]
        for data in sent:
            await one.publish("room", data)
        await until(lambda: len(got.got) >= len(sent))
        assert got.data == sent


@async_test
async def test_a_different_prefix_isolates(prefix: str) -> None:
    async with (
        RedisBroker(REDIS_URL, prefix=prefix) as one,
        RedisBroker(REDIS_URL, prefix=random_prefix()) as elsewhere,
    ):
        mine, theirs = Recorder(), Recorder()
        await one.subscribe("room", mine).ready()
        await elsewhere.subscribe("room", theirs).ready()
        await elsewhere.publish("room", "not for you")
        await one.publish("room", "marker")
        await asyncio.sleep(0.2)
        assert mine.data == ["marker"]
        assert theirs.data == ["not for you"]


@async_test
async def test_redis_subscription_follows_the_first_and_last_local_subscriber(prefix: str) -> None:
    async with RedisBroker(REDIS_URL, prefix=prefix) as broker:
        first = broker.subscribe("room", Recorder())
        second = broker.subscribe("room", Recorder())
        await first.ready()
        await second.ready()
        assert await numsub(prefix + "room") == 1  # one connection per node, whatever the crowd
        first.close()
        await asyncio.sleep(0.05)
        assert await numsub(prefix + "room") == 1
        second.close()
        await until_async(lambda: numsub(prefix + "room"), 0)
        third = broker.subscribe("room", Recorder())
        await third.ready()
        assert await numsub(prefix + "room") == 1


async def until_async(
    read: Callable[[], Coroutine[Any, Any, int]], expected: int, timeout: float = 5.0
) -> None:
    deadline = time.monotonic() + timeout
    while (value := await read()) != expected:
        if time.monotonic() > deadline:
            raise AssertionError(f"{value} != {expected} within {timeout} s")
        await asyncio.sleep(0.01)


@async_test
async def test_resubscribes_after_the_server_kills_the_connection(prefix: str) -> None:
    async with (
        RedisBroker(REDIS_URL, prefix=prefix) as one,
        RedisBroker(REDIS_URL, prefix=prefix) as two,
    ):
        got = Recorder()
        await two.subscribe("room", got).ready()
        await two.subscribe("other", Recorder()).ready()
        async with Redis.from_url(REDIS_URL) as admin:
            assert await admin.execute_command("CLIENT", "KILL", "TYPE", "pubsub") >= 1
        # Messages published before the link is back are lost (at most once); keep
        # publishing until one gets through, which must be within a few seconds.
        deadline = time.monotonic() + 5
        while not got.got:
            assert time.monotonic() < deadline, "no delivery within 5 s of the kill"
            await one.publish("room", "probe")
            await asyncio.sleep(0.05)
        for n in range(100):
            await one.publish("room", str(n))
        numbers = [str(n) for n in range(100)]
        await until(lambda: got.data[-1:] == ["99"])
        assert [data for data in got.data if data != "probe"] == numbers
        assert await numsub(prefix + "other") == 1  # every active topic came back


class Proxy:
    """A TCP relay to the Redis server that a test can cut and restore, like a network would."""

    def __init__(self) -> None:
        self.port = 0
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.Task[None]] = set()
        self._sockets: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
        for writer in self._sockets:
            writer.close()
        await asyncio.gather(*self._links)
        self._sockets.clear()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._links.add(task)
        task.add_done_callback(self._links.discard)
        upstream_reader, upstream = await asyncio.open_connection("127.0.0.1", 6379)
        self._sockets += [writer, upstream]

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except OSError:
                pass
            finally:
                sink.close()

        await asyncio.gather(pipe(reader, upstream), pipe(upstream_reader, writer))


@async_test
async def test_link_outage_loses_messages_but_never_blocks_and_heals(
    prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    proxy = Proxy()
    await proxy.start()
    try:
        async with (
            RedisBroker(f"redis://127.0.0.1:{proxy.port}/0", prefix=prefix) as far,
            RedisBroker(REDIS_URL, prefix=prefix) as near,
        ):
            far_got, near_got = Recorder(), Recorder()
            await far.subscribe("room", far_got).ready()
            await near.subscribe("room", near_got).ready()
            await proxy.stop()
            started = time.monotonic()
            for n in range(3):
                await far.publish("room", f"during outage {n}")
            await asyncio.sleep(0.3)
            assert time.monotonic() - started < 0.5  # publish never waits for Redis
            assert far_got.data == [f"during outage {n}" for n in range(3)]  # local still flows
            assert near_got.data == []  # lost for the other node, as documented

            await proxy.start()
            deadline = time.monotonic() + 10
            while "from near" not in far_got.data or "from far" not in near_got.data:
                assert time.monotonic() < deadline, "the link did not heal within 10 s"
                await near.publish("room", "from near")
                await far.publish("room", "from far")
                await asyncio.sleep(0.05)
        assert "subscribe link down" in caplog.text
        assert "subscribe link restored" in caplog.text
    finally:
        await proxy.stop()


@async_test
async def test_start_fails_clearly_when_redis_is_unreachable() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    broker = RedisBroker(f"redis://127.0.0.1:{port}/0", prefix=random_prefix())
    with pytest.raises(BrokerUnavailableError, match=f"127.0.0.1:{port}") as caught:
        await broker.start()
    assert caught.value.status == 503
    await broker.close()


@async_test
async def test_make_broker_picks_the_implementation_from_the_url() -> None:
    assert isinstance(make_broker(None), MemoryBroker)
    assert isinstance(make_broker("memory://"), MemoryBroker)
    default = make_broker(REDIS_URL)
    tenant = make_broker(REDIS_URL + "#tenant1:")
    assert isinstance(default, RedisBroker)
    assert isinstance(tenant, RedisBroker)
    assert (default.prefix, tenant.prefix) == ("backchannel:", "tenant1:")
    assert tenant.url == REDIS_URL
    await default.close()
    await tenant.close()
    with pytest.raises(ValueError, match="unsupported broker URL"):
        make_broker("nats://127.0.0.1:4222")
