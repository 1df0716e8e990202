"""A loop that runs in the background until stopped, and can be woken early (the PA outbox, the jobs)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable


class BackgroundLoop:
    name = "loop"

    def __init__(self) -> None:
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Something is due now: stop waiting."""
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        raise NotImplementedError

    async def _repeat(self, work: Callable[[], Awaitable[object]], interval: float, log: logging.Logger,
                      failed: str) -> None:
        """Run ``work`` every ``interval`` seconds (sooner when woken) until stopped; a round that fails is
        logged on ``log`` as ``failed`` and the next round tries again."""
        while True:
            try:
                await work()
            except Exception:
                log.exception("%s; will retry", failed)
            await self._pause(interval)

    async def _pause(self, seconds: float) -> None:
        """Wait ``seconds``, or less if woken."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
        self._wake.clear()
