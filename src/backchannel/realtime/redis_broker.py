"""``RedisBroker``: the broker for several nodes, over Redis pub/sub (redis-py's asyncio client).

Each node keeps two connections: one in subscribe mode, read by a task that dispatches to the
local handlers, and one that publishes. Topic ``t`` is the Redis channel ``prefix + t``; a node
subscribes to it when ``t`` gets its first local subscriber and unsubscribes when it loses its
last. Deployments (and tests) sharing one Redis isolate themselves with distinct prefixes.

A node's own messages are delivered to its local subscribers directly inside ``publish`` (no
round trip, and they still flow while Redis is down); on the wire each message is
``"<node id> <data>"`` and the reader drops those carrying its own node id, which Redis echoes
back because the node is subscribed too. So each local publish reaches each local subscriber
exactly once.

Publishing never waits for Redis: ``publish`` appends to an outbox that one writer task sends in
pipelined batches, in call order. While the link is down (from a failed write until the next
attempt) messages are dropped, not queued; the subscribe link reconnects with exponential
backoff and jitter, then resubscribes every active topic. Redis' own retries are off: this module
is the one place that decides what happens when the link fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import secrets

from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import RedisError

from backchannel.realtime.broker import (
    Broker,
    BrokerUnavailableError,
    Handler,
    Subscription,
    Topics,
)

log = logging.getLogger(__name__)

DEFAULT_URL = "redis://127.0.0.1:6379/0"
DEFAULT_PREFIX = "backchannel:"
CONNECT_TIMEOUT = 2.0  # seconds to open a connection (and for a write to go through)
PING_INTERVAL = 15.0  # an idle subscribe link is pinged this often; no reply by the next → dead
MAX_OUTBOX = 100_000  # messages waiting for the writer; past this, publishing drops them
BATCH = 1_000  # channels per SUBSCRIBE/UNSUBSCRIBE command

LinkErrors = (RedisError, OSError)


class Backoff:
    """Exponential delays with full jitter: ``first`` doubling up to ``cap`` until ``reset()``."""

    def __init__(self, first: float = 0.05, cap: float = 5.0) -> None:
        self.first = first
        self.cap = cap
        self._ceiling = first

    def next(self) -> float:
        delay = random.uniform(self.first / 2, self._ceiling)  # noqa: S311 - jitter, not secrecy
        self._ceiling = min(self.cap, self._ceiling * 2)
        return delay

    def reset(self) -> None:
        self._ceiling = self.first


class RedisBroker(Broker):
    """Fan-out across nodes through Redis pub/sub; see ``Broker`` for the guarantees."""

    def __init__(self, url: str = DEFAULT_URL, *, prefix: str = DEFAULT_PREFIX) -> None:
        self.url = url
        self.prefix = prefix
        self.node_id = secrets.token_hex(8)
        self._topics = Topics(on_change=self._topic_changed, until_live=self._until_live)
        # Redis' retries are off (the connections' default): reconnecting is done here.
        self._pool: ConnectionPool = ConnectionPool.from_url(
            url,
            decode_responses=True,
            protocol=2,  # pub/sub messages as plain replies (a URL may still ask for RESP3)
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=CONNECT_TIMEOUT,
        )
        self._client = Redis(connection_pool=self._pool)
        self._started = False
        self._closed = False
        # writer
        self._outbox: list[tuple[str, str]] = []
        self._outbox_ready = asyncio.Event()
        self._writer_up = True
        self._overflowing = False
        self._writer: asyncio.Task[None] | None = None
        # subscribe link
        self._link: asyncio.Task[None] | None = None
        self._linked = False  # the subscribe connection is open
        self._pending: set[str] = set()  # topics whose upstream state may need a command
        self._pending_ready = asyncio.Event()
        self._requested: set[str] = set()  # topics SUBSCRIBEd on the current connection
        self._in_flight: dict[str, int] = {}  # commands per topic whose reply has not come yet
        self._confirmed: set[str] = set()  # topics Redis confirmed with nothing pending after
        self._confirmations = asyncio.Event()  # set (then replaced) when _confirmed grows
        self._last_heard = 0.0

    def __repr__(self) -> str:
        return f"<RedisBroker {self.url!r} prefix={self.prefix!r} node={self.node_id}>"

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        if self._closed:
            raise RuntimeError("the broker is closed")
        if self._started:
            return
        try:
            await self._client.ping()
        except LinkErrors as exc:
            await self._pool.aclose()
            raise BrokerUnavailableError(f"Redis is not reachable at {self.url}: {exc}") from exc
        self._started = True
        self._writer = asyncio.create_task(self._write_loop(), name="broker-redis-writer")
        self._link = asyncio.create_task(self._link_loop(), name="broker-redis-subscriber")

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._started = False
        self._topics.close()
        self._wake_waiters()
        if self._link is not None:
            self._link.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._link
        if self._writer is not None:
            if self._writer_up:
                # Let the writer send what was published before close(), briefly.
                self._outbox_ready.set()
                await asyncio.wait({self._writer}, timeout=CONNECT_TIMEOUT)
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        await self._client.aclose()
        await self._pool.aclose()

    # -- publish ------------------------------------------------------------------------------

    async def publish(self, topic: str, data: str) -> None:
        if not self._started:
            if self._closed:
                return
            raise RuntimeError("publish() before start()")
        self._topics.dispatch(topic, data)
        if not self._writer_up:
            return  # the link is down: lost for the other nodes, as documented
        if len(self._outbox) >= MAX_OUTBOX:
            if not self._overflowing:  # once per episode: a storm of warnings helps no one
                self._overflowing = True
                log.warning("broker: Redis cannot keep up; dropping messages for other nodes")
            return
        self._outbox.append((self.prefix + topic, f"{self.node_id} {data}"))
        self._outbox_ready.set()

    async def _write_loop(self) -> None:
        backoff = Backoff()
        while True:
            await self._outbox_ready.wait()
            self._outbox_ready.clear()
            batch, self._outbox = self._outbox, []
            if not batch:
                if self._closed:
                    return
                continue
            try:
                async with self._client.pipeline(transaction=False) as pipe:
                    for channel, payload in batch:
                        pipe.publish(channel, payload)
                    await pipe.execute()
            except LinkErrors as exc:
                log.warning("broker: Redis write failed, %d message(s) lost: %s", len(batch), exc)
                if self._closed:
                    return
                self._writer_up = False
                self._outbox.clear()
                await asyncio.sleep(backoff.next())
                self._writer_up = True
            else:
                backoff.reset()
                self._overflowing = False
            if self._closed and not self._outbox:
                return

    # -- subscribe ----------------------------------------------------------------------------

    def subscribe(self, topic: str, handler: Handler) -> Subscription:
        return self._topics.add(topic, handler)

    def _topic_changed(self, topic: str) -> None:
        self._pending.add(topic)
        self._pending_ready.set()

    async def _until_live(self, subscription: Subscription) -> None:
        while not (subscription.closed or self._closed or subscription.topic in self._confirmed):
            await self._confirmations.wait()

    def _wake_waiters(self) -> None:
        self._confirmations.set()
        self._confirmations = asyncio.Event()

    async def _link_loop(self) -> None:
        """Keep one subscribe connection up, reconnecting with backoff, until cancelled."""
        backoff = Backoff()
        loop = asyncio.get_running_loop()
        lost = False
        while True:
            opened = loop.time()
            self._linked = False
            try:
                await self._hold_link(restored=lost)
            except LinkErrors as exc:
                if self._linked or not lost:  # one warning per outage, not one per attempt
                    log.warning("broker: Redis subscribe link down (%s); reconnecting", exc)
            except Exception:
                log.exception("broker: Redis subscribe link failed; reconnecting")
            lost = True
            if loop.time() - opened > 1.0:
                backoff.reset()  # a link that held a while was not a flapping one
            await asyncio.sleep(backoff.next())

    async def _hold_link(self, *, restored: bool) -> None:
        """Connect, subscribe every active topic, then read until the link fails (raising)."""
        conn = self._new_connection()
        try:
            await conn.connect()  # type: ignore[no-untyped-call]  # redis-py leaves it bare
            self._linked = True
            if restored:
                log.warning("broker: Redis subscribe link restored")
            self._requested.clear()
            self._in_flight.clear()
            self._pending = set(self._topics.active())
            self._pending_ready.set()
            self._last_heard = asyncio.get_running_loop().time()
            reader = asyncio.create_task(self._read(conn), name="broker-redis-reader")
            syncer = asyncio.create_task(self._sync(conn), name="broker-redis-sync")
            try:
                done, _ = await asyncio.wait({reader, syncer}, return_when=asyncio.FIRST_COMPLETED)
                failed = done.pop()
                raise failed.exception() or ConnectionError("the link ended")
            finally:
                reader.cancel()
                syncer.cancel()
                await asyncio.gather(reader, syncer, return_exceptions=True)
        finally:
            self._confirmed.clear()
            with contextlib.suppress(*LinkErrors):
                await conn.disconnect()

    def _new_connection(self) -> AbstractConnection:
        # Outside the pool: this connection lives in subscribe mode and is never lent out.
        connection: AbstractConnection = self._pool.connection_class(**self._pool.connection_kwargs)
        return connection

    async def _sync(self, conn: AbstractConnection) -> None:
        """The only writer on the subscribe connection: (un)subscribe what changed, and ping."""
        loop = asyncio.get_running_loop()
        pinged_at: float | None = None
        while True:
            try:
                await asyncio.wait_for(self._pending_ready.wait(), PING_INTERVAL)
            except TimeoutError:
                if pinged_at is not None and self._last_heard < pinged_at:
                    raise ConnectionError("no reply from Redis to PING") from None
                pinged_at = loop.time()
                await conn.send_command("PING", check_health=False)
                continue
            self._pending_ready.clear()
            pending, self._pending = self._pending, set()
            add = [t for t in pending if t in self._topics and t not in self._requested]
            drop = [t for t in pending if t not in self._topics and t in self._requested]
            await self._command(conn, "UNSUBSCRIBE", drop)
            await self._command(conn, "SUBSCRIBE", add)

    async def _command(self, conn: AbstractConnection, command: str, topics: list[str]) -> None:
        for topic in topics:
            self._in_flight[topic] = self._in_flight.get(topic, 0) + 1
            self._confirmed.discard(topic)
            if command == "SUBSCRIBE":
                self._requested.add(topic)
            else:
                self._requested.discard(topic)
        for start in range(0, len(topics), BATCH):
            channels = [self.prefix + t for t in topics[start : start + BATCH]]
            await conn.send_command(command, *channels, check_health=False)

    async def _read(self, conn: AbstractConnection) -> None:
        """The only reader of the subscribe connection: dispatch messages, track confirmations."""
        loop = asyncio.get_running_loop()
        skip = len(self.prefix)
        own = self.node_id
        dispatch = self._topics.dispatch
        while True:
            reply = await conn.read_response(timeout=math.inf, push_request=True)
            self._last_heard = loop.time()
            if not isinstance(reply, list) or len(reply) != 3:
                continue  # PONG and the like
            kind, channel, payload = reply
            if kind == "message":
                origin, _, data = payload.partition(" ")
                if origin != own:
                    dispatch(channel[skip:], data)
            elif kind in ("subscribe", "unsubscribe"):
                self._confirm(channel[skip:], kind == "subscribe")

    def _confirm(self, topic: str, subscribed: bool) -> None:
        left = self._in_flight.get(topic, 0) - 1
        if left > 0:
            self._in_flight[topic] = left
            return
        self._in_flight.pop(topic, None)
        if subscribed:
            self._confirmed.add(topic)
            self._wake_waiters()
        else:
            self._confirmed.discard(topic)
