"""Failed-login limits: at most N failures per key in a sliding window, then 429.

The token server keys failures by username and by client address, so neither guessing many
passwords for one user nor one password for many users gets far. The counts live in this
process's memory: right for one node; several nodes behind a load balancer each keep their own
(an attacker gets N per node), and a restart forgets them. The client address is the TCP peer;
behind a reverse proxy that is the proxy, so every client shares one bucket there.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable


class FailureLimiter:
    """``attempts`` failures per key within ``window`` seconds; ``clock`` returns seconds."""

    def __init__(
        self,
        attempts: int,
        window: float,
        clock: Callable[[], float],
        *,
        max_keys: int = 100_000,
    ) -> None:
        self.attempts = attempts
        self.window = window
        self.clock = clock
        self.max_keys = max_keys
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str, now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def retry_after(self, keys: Iterable[str]) -> int:
        """Whole seconds until every key may try again; 0 when all may try now."""
        now = self.clock()
        wait = 0.0
        for key in keys:
            times = self._recent(key, now)
            if times is not None and len(times) >= self.attempts:
                wait = max(wait, times[0] + self.window - now)
        return math.ceil(wait) if wait > 0 else 0

    def record(self, keys: Iterable[str]) -> None:
        """One more failure for each key."""
        now = self.clock()
        for key in keys:
            times = self._recent(key, now)
            if times is None:
                times = self._failures[key] = deque(maxlen=self.attempts)
            times.append(now)
            self._failures.move_to_end(key)
        while len(self._failures) > self.max_keys:  # memory stays bounded under a spray
            self._failures.popitem(last=False)

    def undo(self, key: str) -> None:
        """Take back the latest failure of ``key`` (an attempt counted before it was checked)."""
        times = self._failures.get(key)
        if times:
            times.pop()
            if not times:
                del self._failures[key]

    def forget(self, key: str) -> None:
        self._failures.pop(key, None)
