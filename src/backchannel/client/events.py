"""The event emitter behind ``ChatClient.on`` and ``Channel.on``.

Callbacks take one argument (the event's object) and may be plain functions or coroutine
functions. Plain ones run immediately, in registration order; coroutine ones run as tasks, started
in event order, so a callback may await the client (send a reply, fetch a page) without holding
up the events behind it. A callback that raises is logged and does not stop the others.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from typing import Any

__all__ = ["Callback", "EventEmitter"]

log = logging.getLogger("backchannel.client")

Callback = Callable[[Any], Any]


class EventEmitter:
    def __init__(self) -> None:
        self._callbacks: dict[str, list[Callback]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    def on(self, event: str, callback: Callback) -> Callable[[], None]:
        """Call ``callback(obj)`` for every ``event``; returns a function that unsubscribes."""
        self._callbacks.setdefault(event, []).append(callback)
        return lambda: self.off(event, callback)

    def off(self, event: str, callback: Callback) -> None:
        """Stop calling ``callback`` for ``event`` (no error when it was not registered)."""
        callbacks = self._callbacks.get(event, [])
        if callback in callbacks:
            callbacks.remove(callback)

    def emit(self, event: str, obj: Any) -> None:
        for callback in list(self._callbacks.get(event, ())):
            try:
                result = callback(obj)
            except Exception:
                log.exception("%s callback %r failed", event, callback)
                continue
            if inspect.isawaitable(result):
                task = asyncio.ensure_future(self._await(event, callback, result))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _await(event: str, callback: Callback, result: Any) -> None:
        try:
            await result
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s callback %r failed", event, callback)

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait (up to ``timeout``) for running async callbacks, then cancel the rest."""
        if not self._tasks:
            return
        tasks = [t for t in self._tasks if t is not asyncio.current_task()]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
