"""How long to wait before the next attempt: exponential, capped, jittered."""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["Backoff"]


@dataclass(frozen=True)
class Backoff:
    """Attempt ``n`` (from 0) waits about ``initial * factor**n`` seconds, at most ``maximum``.

    ``jitter`` is the share of each delay drawn at random, so that clients dropped together
    (a server restart) do not all come back in the same instant.
    """

    initial: float = 0.5
    maximum: float = 30.0
    factor: float = 2.0
    jitter: float = 0.5

    def delay(self, attempt: int) -> float:
        base = min(self.maximum, self.initial * self.factor ** min(attempt, 64))
        return base * (1 - self.jitter) + random.uniform(0, base * self.jitter)  # noqa: S311
