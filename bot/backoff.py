"""One way to wait before trying again: exponential delays with a cap and a little jitter (so workers
that failed together do not retry together)."""

from __future__ import annotations

import asyncio
import random


class Backoff:
    def __init__(self, first: float = 0.5, cap: float = 30.0, factor: float = 2.0, jitter: float = 0.1) -> None:
        self.first, self.cap, self.factor, self.jitter = first, cap, factor, jitter
        self._next = first

    def next(self) -> float:
        """The delay to wait now; the following one grows."""
        delay = self._next * (1 + random.uniform(-self.jitter, self.jitter))
        self._next = min(self._next * self.factor, self.cap)
        return delay

    def reset(self) -> None:
        """After a success: the next failure waits ``first`` again."""
        self._next = self.first

    async def sleep(self) -> float:
        delay = self.next()
        await asyncio.sleep(delay)
        return delay
