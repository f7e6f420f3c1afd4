"""The broker: fans a serialized frame out to every subscriber of a topic, on one node or many.

``Broker`` is the interface and states the guarantees; ``MemoryBroker`` serves one process and
``RedisBroker`` (in ``redis_broker.py``) several nodes through Redis pub/sub. ``make_broker``
picks one from the configured URL.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Awaitable, Callable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING

from backchannel.errors import BackchannelError

if TYPE_CHECKING:
    from typing import Self

log = logging.getLogger(__name__)

Handler = Callable[[str, str], None]
"""``handler(topic, data)``: called on the event loop; it must not block (enqueue and return)."""


class BrokerUnavailableError(BackchannelError):
    """``start()`` could not reach the broker's server (a wrong URL, or the server is down)."""

    code = 20503
    status = 503


class Broker(abc.ABC):
    """Publish/subscribe of already-serialized frames by topic, for the sessions of this node.

    What callers may rely on:

    - **At most once.** Each subscriber receives a published message once or not at all, never
      twice. In particular a node's own publish reaches its local subscribers exactly once.
    - **Order per publisher.** Messages on one topic published through one broker instance reach
      each subscriber in the order the ``publish`` calls ran. Nothing is promised about the
      interleaving of different publishers, nor between topics.
    - **Loss is possible.** With ``RedisBroker``, messages published while a node's Redis link is
      down do not reach the other nodes, and messages published elsewhere meanwhile do not reach
      this node. The broker never replays: clients recover what they missed from the database by
      message index, not from the broker.
    - **Handlers are isolated.** ``handler(topic, data)`` is a plain callable run on the event
      loop; handlers of one topic run in subscription order. An exception in a handler is logged
      and swallowed: it never reaches the publisher nor stops the other subscribers. A handler may
      subscribe or close subscriptions (its own or others'); a subscription closed during a
      dispatch receives nothing more, one opened during it starts with the next message.
    - **Lifecycle.** ``await start()`` before ``publish``; ``subscribe`` works at any time.
      ``close()`` is idempotent and safe on a broker never started; afterwards ``publish`` does
      nothing and ``subscribe`` returns an already closed subscription, so sessions still
      winding down during shutdown need no special case. ``async with broker:`` starts and closes.
    """

    @abc.abstractmethod
    async def start(self) -> None:
        """Connect; raises ``BrokerUnavailableError`` if the broker's server cannot be reached."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Stop delivering, close every subscription and release connections (idempotent)."""

    @abc.abstractmethod
    async def publish(self, topic: str, data: str) -> None:
        """Deliver ``data`` (a frame serialized once by the caller) to the topic's subscribers.

        Local subscribers have been called when this returns. It never raises because of the
        broker's server: a message the server cannot take is lost (and logged).
        """

    @abc.abstractmethod
    def subscribe(self, topic: str, handler: Handler) -> Subscription:
        """Call ``handler(topic, data)`` for each message on ``topic`` until the result is closed.

        It returns at once; ``await subscription.ready()`` to know that messages published from
        then on, on any node, will arrive.
        """

    def subscribe_many(self, topics: Iterable[str], handler: Handler) -> list[Subscription]:
        """``subscribe`` to each topic with the same handler, in the given order."""
        return [self.subscribe(topic, handler) for topic in topics]

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


class Subscription:
    """One handler on one topic. ``close()`` (idempotent) stops delivery at once."""

    __slots__ = ("_closed", "_handler", "_topics", "topic")

    def __init__(self, topic: str, handler: Handler, topics: Topics) -> None:
        self.topic = topic
        self._handler = handler
        self._topics = topics
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._topics.remove(self)

    async def ready(self) -> None:
        """Return once messages published from now on, on any node, reach this subscription.

        Immediate for ``MemoryBroker``; for ``RedisBroker``, once Redis has confirmed the topic's
        subscription (waiting through reconnects: bound it with ``asyncio.timeout`` if needed).
        Returns at once if the subscription or the broker is closed.
        """
        await self._topics.until_live(self)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<Subscription {self.topic!r} {state}>"


async def _live_at_once(subscription: Subscription) -> None:
    return None


class Topics:
    """The subscriptions of one node, by topic: the local half that every broker shares.

    ``on_change(topic)`` is called when a topic gets its first subscriber or loses its last one,
    so that a networked broker can (un)subscribe upstream.
    """

    __slots__ = ("_by_topic", "_closed", "_on_change", "_snapshots", "until_live")

    def __init__(
        self,
        on_change: Callable[[str], None] | None = None,
        until_live: Callable[[Subscription], Awaitable[None]] = _live_at_once,
    ) -> None:
        # A dict per topic is an ordered set: subscription order, O(1) removal.
        self._by_topic: dict[str, dict[Subscription, None]] = {}
        # Dispatch iterates a tuple built once per change of the topic's subscribers, so that
        # publishing to a stable crowd is a tight loop and handlers may (un)subscribe mid-loop.
        self._snapshots: dict[str, tuple[Subscription, ...]] = {}
        self._on_change = on_change
        self._closed = False
        self.until_live = until_live

    def __contains__(self, topic: str) -> bool:
        return topic in self._by_topic

    def active(self) -> list[str]:
        """The topics that have at least one subscriber."""
        return list(self._by_topic)

    def add(self, topic: str, handler: Handler) -> Subscription:
        subscription = Subscription(topic, handler, self)
        if self._closed:
            subscription._closed = True
            return subscription
        subscribers = self._by_topic.get(topic)
        if subscribers is None:
            subscribers = self._by_topic[topic] = {}
            first = True
        else:
            first = False
        subscribers[subscription] = None
        self._snapshots.pop(topic, None)
        if first and self._on_change is not None:
            self._on_change(topic)
        return subscription

    def remove(self, subscription: Subscription) -> None:
        topic = subscription.topic
        subscribers = self._by_topic.get(topic)
        if subscribers is None or subscription not in subscribers:
            return
        del subscribers[subscription]
        self._snapshots.pop(topic, None)
        if not subscribers:
            del self._by_topic[topic]
            if self._on_change is not None:
                self._on_change(topic)

    def dispatch(self, topic: str, data: str) -> None:
        subscribers = self._snapshots.get(topic)
        if subscribers is None:
            current = self._by_topic.get(topic)
            if current is None:
                return
            subscribers = self._snapshots[topic] = tuple(current)
        for subscription in subscribers:
            if subscription._closed:
                continue
            try:
                subscription._handler(topic, data)
            except Exception:
                log.exception("broker: a handler of topic %r raised; other handlers go on", topic)

    def close(self) -> None:
        """Close every subscription; later ones are born closed."""
        self._closed = True
        for subscribers in self._by_topic.values():
            for subscription in subscribers:
                subscription._closed = True
        self._by_topic.clear()
        self._snapshots.clear()


class MemoryBroker(Broker):
    """In-process fan-out for a single node: ``publish`` calls the handlers before returning."""

    def __init__(self) -> None:
        self._topics = Topics()
        self._started = False
        self._closed = False

    async def start(self) -> None:
        if self._closed:
            raise RuntimeError("the broker is closed")
        self._started = True

    async def close(self) -> None:
        self._closed = True
        self._started = False
        self._topics.close()

    async def publish(self, topic: str, data: str) -> None:
        if not self._started:
            if self._closed:
                return
            raise RuntimeError("publish() before start()")
        self._topics.dispatch(topic, data)

    def subscribe(self, topic: str, handler: Handler) -> Subscription:
        return self._topics.add(topic, handler)


def make_broker(url: str | None) -> Broker:
    """The broker for a URL: ``None`` or ``memory://`` → ``MemoryBroker``; ``redis://…``,
    ``rediss://…`` or ``unix://…`` → ``RedisBroker``.

    A Redis URL's fragment, if any, is the channel prefix (``redis://host:6379/0#tenant1:``);
    without one it is ``backchannel:``.
    """
    if url is None or url in ("memory://", "memory:"):
        return MemoryBroker()
    if url.startswith(("redis://", "rediss://", "unix://")):
        from backchannel.realtime.redis_broker import DEFAULT_PREFIX, RedisBroker

        base, _, prefix = url.partition("#")
        return RedisBroker(base, prefix=prefix or DEFAULT_PREFIX)
    raise ValueError(f"unsupported broker URL {url!r}: expected memory:// or redis://…")
