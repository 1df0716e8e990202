"""The Telegram send queue and rate budget: one FIFO queue per chat, Telegram's three limits, 429s that
pause one chat only. (Not the PA outbox: that one is ``storage/outbox.py``.)

PTB's ``AIORateLimiter`` pauses every chat when one chat gets a 429 and by default does not retry, so a
busy group can silence a whole deployment and lose messages. Here each chat has its own queue and worker:
a 429 makes that worker sleep ``retry_after`` and try the same message again, while the other workers keep
sending; nothing is dropped for being throttled. Edits of one message are coalesced before they get here,
by the core's sender (a poll voted on 50 times in a second costs one edit, not 50). Only the worker
holding the send lease sends, so these windows are the limits of all workers together.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import logging
import time
import warnings
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.backoff import Backoff

log = logging.getLogger(__name__)

# Windows count from Telegram's answers (see ``Window``), so only clock granularity needs a margin.
_MARGIN_FACTOR = 1.0
_MARGIN_SECONDS = 0.002
_IN_FLIGHT_POLL = 0.005
_MAX_BACKOFF = 30.0


@dataclass(frozen=True)
class RateLimits:
    """Each limit is "at most N messages in any W seconds" (count, window)."""

    per_chat: tuple[int, float] = (1, 1.0)
    per_group: tuple[int, float] = (20, 60.0)
    global_: tuple[int, float] = (30, 1.0)


class Window:
    """"At most ``count`` in any ``window`` seconds", counted from when Telegram *answered*.

    A request may wait for a connection or a busy event loop before it reaches Telegram, so send times
    say little about arrival times. Completion times do: a request arrives before it is answered. So a
    slot is held from the start of a request until ``window`` seconds after its answer, which keeps us
    under the limit whatever the jitter, at the cost of one round trip per slot.
    """

    def __init__(self, limit: tuple[int, float]) -> None:
        self.count = limit[0]
        self.window = limit[1] * _MARGIN_FACTOR + _MARGIN_SECONDS
        self.times: deque[float] = deque()
        self.in_flight = 0

    def delay(self, now: float) -> float:
        while self.times and self.times[0] <= now - self.window:
            self.times.popleft()
        if len(self.times) + self.in_flight < self.count:
            return 0.0
        if self.times:
            return self.times[0] + self.window - now
        return _IN_FLIGHT_POLL

    def reserve(self) -> None:
        self.in_flight += 1

    def complete(self, now: float) -> None:
        self.in_flight -= 1
        self.times.append(now)


Call = Callable[[dict[str, Any]], Awaitable[Any]]


@dataclass
class Job:
    """One API call for one chat; ``fallback``: the same call in plain text, if Telegram rejects the markup."""

    call: Call
    kwargs: dict[str, Any]
    fallback: dict[str, Any] | None = None
    future: asyncio.Future[Any] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


def retry_after_seconds(exc: RetryAfter) -> float:
    """``RetryAfter.retry_after`` is an int or a timedelta depending on PTB settings; accept both."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


def _not_modified(exc: BadRequest) -> bool:
    return "not modified" in exc.message.lower()


def _bad_entities(exc: BadRequest) -> bool:
    return "can't parse entities" in exc.message.lower()


class SendQueue:
    """Per-chat queues drained by per-chat workers under per-chat, per-group and global windows."""

    def __init__(self, limits: RateLimits) -> None:
        self.limits = limits
        self._queues: dict[int, deque[Job]] = {}
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._chat_windows: dict[int, Window] = {}
        self._group_windows: dict[int, Window] = {}
        self._global = Window(limits.global_)
        self._global_gate = asyncio.Lock()
        self._idle = asyncio.Event()
        self._idle.set()
        self.retries_after_429 = 0

    def submit(self, chat_id: int, job: Job) -> asyncio.Future[Any]:
        """Queue ``job``; its future resolves with Telegram's answer, or fails with its refusal."""
        queue = self._queues.setdefault(chat_id, deque())
        queue.append(job)
        self._idle.clear()
        if chat_id not in self._workers:
            self._workers[chat_id] = asyncio.create_task(self._drain(chat_id), name=f"telegram-send-{chat_id}")
        return job.future

    @property
    def pending(self) -> int:
        return sum(len(q) for q in self._queues.values())

    async def flush(self, within: float) -> bool:
        """Wait until every queue is empty (True) or ``within`` seconds passed (False)."""
        try:
            await asyncio.wait_for(self._idle.wait(), within)
        except TimeoutError:
            return False
        return True

    async def close(self) -> None:
        for task in list(self._workers.values()):
            task.cancel()
        for task in list(self._workers.values()):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for queue in self._queues.values():
            for job in queue:
                if not job.future.done():
                    job.future.cancel()
        self._queues.clear()

    async def _acquire(self, chat_id: int) -> list[Window]:
        """Wait for this chat's own windows first (without holding anything), then take a global slot in
        FIFO order, so a throttled chat never holds back the others."""
        chat_window = self._chat_windows.setdefault(chat_id, Window(self.limits.per_chat))
        windows = [chat_window]
        if chat_id < 0:
            windows.append(self._group_windows.setdefault(chat_id, Window(self.limits.per_group)))
        while True:
            wait = max(w.delay(time.monotonic()) for w in windows)
            if wait <= 0:
                break
            await asyncio.sleep(wait)
        async with self._global_gate:
            while True:
                wait = self._global.delay(time.monotonic())
                if wait <= 0:
                    break
                await asyncio.sleep(wait)
            windows.append(self._global)
            for w in windows:
                w.reserve()
        return windows

    async def _drain(self, chat_id: int) -> None:
        queue = self._queues[chat_id]
        backoff = Backoff(cap=_MAX_BACKOFF)
        try:
            while queue:
                job = queue[0]
                windows = await self._acquire(chat_id)
                try:
                    try:
                        result = await job.call(job.kwargs)
                    finally:
                        now = time.monotonic()
                        for w in windows:
                            w.complete(now)
                except RetryAfter as exc:
                    self.retries_after_429 += 1
                    delay = retry_after_seconds(exc)
                    log.info("telegram: chat %s throttled for %.0fs; its messages wait", chat_id, delay)
                    await asyncio.sleep(delay)
                    continue
                except BadRequest as exc:
                    if _not_modified(exc):
                        result = job.kwargs.get("message_id")
                    elif _bad_entities(exc) and job.fallback is not None:
                        log.warning("telegram: markup rejected (%s); sending plain text", exc.message)
                        job.kwargs, job.fallback = job.fallback, None
                        continue
                    else:
                        log.warning("telegram: chat %s rejected a message: %s", chat_id, exc.message)
                        self._finish(queue, job, error=exc)
                        continue
                except Forbidden as exc:
                    log.warning("telegram: chat %s does not accept messages: %s", chat_id, exc.message)
                    self._finish(queue, job, error=exc)
                    continue
                except (TimedOut, NetworkError) as exc:
                    delay = backoff.next()
                    log.warning("telegram: sending to %s failed (%s); retrying in %.1fs", chat_id, exc, delay)
                    await asyncio.sleep(delay)
                    continue
                backoff.reset()
                self._finish(queue, job, result=result)
        finally:
            if self._workers.get(chat_id) is asyncio.current_task():
                del self._workers[chat_id]
            if not queue:
                self._queues.pop(chat_id, None)
            if not self._workers:
                self._idle.set()

    @staticmethod
    def _finish(queue: deque[Job], job: Job, result: Any = None, error: BaseException | None = None) -> None:
        queue.popleft()
        if job.future.done():
            return
        if error is not None:
            job.future.set_exception(error)
        else:
            job.future.set_result(result)
