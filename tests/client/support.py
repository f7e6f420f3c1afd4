"""Helpers of the SDK tests: run a scenario with a deadline, and record a client's events."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from backchannel.client import ChatClient

T = TypeVar("T")


def run(scenario: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
    """Run one test's scenario on a fresh event loop, failing it after ``timeout`` seconds."""

    async def bounded() -> T:
        async with asyncio.timeout(timeout):
            return await scenario

    return asyncio.run(bounded())


class Recorder:
    """Every event of ``names`` a client emits, in order; ``await wait(...)`` for the next ones."""

    def __init__(self, client: ChatClient, *names: str) -> None:
        self.events: list[tuple[str, Any]] = []
        self._changed = asyncio.Event()
        for name in names:
            client.on(name, self._recorder(name))

    def _recorder(self, name: str) -> Callable[[Any], None]:
        def record(obj: Any) -> None:
            self.events.append((name, obj))
            self._changed.set()

        return record

    def of(self, name: str) -> list[Any]:
        return [obj for event, obj in self.events if event == name]

    async def wait(
        self,
        name: str,
        count: int = 1,
        where: Callable[[Any], bool] = lambda obj: True,
        timeout: float = 10.0,
    ) -> list[Any]:
        """Wait until ``count`` ``name`` events matching ``where`` have arrived; return them."""
        async with asyncio.timeout(timeout):
            while True:
                found = [obj for obj in self.of(name) if where(obj)]
                if len(found) >= count:
                    return found
                self._changed.clear()
                await self._changed.wait()
