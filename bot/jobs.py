"""Jobs as data: work due at a time is a row in ``jobs``, written in the transaction that decided it.

Any worker may run a due job: it takes the chat's lock, deletes the job's row and runs the job in that
same transaction, so a job runs exactly once however many workers look (the second finds no row) and a
crash mid-run rolls the deletion back for the next try. Nothing here blocks the event loop; the timer
is a sleep until the next row is due, woken early when this process schedules something sooner, and a
short poll notices rows other workers wrote. A job that keeps failing ends in the dead letters.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.backoff import Backoff
from storage.background import BackgroundLoop
from storage.models import DeadLetter, Job
from storage.sql import insert, lock_for_transaction, unreachable

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
POLL_INTERVAL = 2.0  # seconds: how soon a job written by another worker is noticed at the latest
BATCH = 50

# Runs one claimed job inside the claiming transaction; returns what to do once it committed.
JobRunner = Callable[[AsyncSession, Job], Awaitable[Callable[[], Awaitable[None]] | None]]


def chat_lock(platform: str, chat_id: str) -> str:
    """The name every transaction working in one chat locks (updates and jobs alike)."""
    return f"chat:{platform}:{chat_id}"


async def schedule(
    session: AsyncSession, key: str, interlinker: str, job: str, platform: str, chat_id: str,
    run_at: datetime, params: dict[str, Any], *, replace: bool = True, thread_id: str | None = None,
) -> None:
    """Write (or, with ``replace``, move) job ``key`` in ``session``'s transaction; it runs in the chat's
    ``thread_id`` (a forum topic) when there is one."""
    values = {"key": key, "interlinker": interlinker, "job": job, "platform": platform, "chat_id": chat_id,
              "thread_id": thread_id, "params": params, "run_at": run_at, "attempts": 0}
    statement = insert(session, Job).values(**values)
    if replace:
        statement = statement.on_conflict_do_update(
            index_elements=[Job.key],
            set_={"run_at": run_at, "params": params, "attempts": 0, "interlinker": interlinker, "job": job,
                  "thread_id": thread_id},
        )
    else:
        statement = statement.on_conflict_do_nothing(index_elements=[Job.key])
    await session.execute(statement)


async def unschedule(session: AsyncSession, key: str) -> None:
    await session.execute(delete(Job).where(Job.key == key))


class JobQueue(BackgroundLoop):
    name = "jobs"

    def __init__(self, sessions: async_sessionmaker[AsyncSession], runner: JobRunner,
                 interval: float = POLL_INTERVAL) -> None:
        super().__init__()
        self._sessions = sessions
        self._runner = runner
        self._interval = interval

    async def _run(self) -> None:
        backoff = Backoff()
        while True:
            timeout = self._interval
            try:
                await self.run_due()
                async with self._sessions() as session:
                    next_at = await session.scalar(select(func.min(Job.run_at)))
                if next_at is not None:
                    timeout = min(timeout, max(0.0, (next_at - datetime.now(UTC)).total_seconds()))
                backoff.reset()
            except Exception as exc:
                timeout = backoff.next()
                log.warning("jobs: store unavailable (%s); retrying in %.1fs", exc, timeout)
            await self._pause(timeout)

    async def run_due(self) -> int:
        """Run every job due now; return how many ran here."""
        ran = 0
        while True:
            async with self._sessions() as session:
                due = (await session.execute(
                    select(Job.id, Job.platform, Job.chat_id)
                    .where(Job.run_at <= datetime.now(UTC)).order_by(Job.run_at, Job.id).limit(BATCH)
                )).all()
            if not due:
                return ran
            progressed = False
            for job_id, platform, chat_id in due:
                outcome = await self._run_one(job_id, platform, chat_id)
                ran += outcome is True
                progressed = progressed or outcome is not None
                # SQLite runs in the event loop and never yields unless locked: without this, 10 000 due
                # reminders froze the worker (no sending, no polling) for 33 s before the first went out.
                await asyncio.sleep(0)
            if not progressed or len(due) < BATCH:
                return ran

    async def _run_one(self, job_id: int, platform: str, chat_id: str) -> bool | None:
        """True: ran here; False: someone else had it; None: failed (rescheduled or dead-lettered)."""
        try:
            async with self._sessions.begin() as session:
                await lock_for_transaction(session, chat_lock(platform, chat_id))
                job = (await session.scalars(delete(Job).where(Job.id == job_id).returning(Job))).first()
                if job is None:
                    return False
                after = await self._runner(session, job)
        except Exception as exc:
            if unreachable(exc):
                raise  # the store is down: the loop retries; the job's row is still there
            await self._failed(job_id, exc)
            return None
        if after is not None:
            try:
                await after()
            except Exception:
                log.exception("jobs: delivery after job %s failed", job.key)
        return True

    async def _failed(self, job_id: int, exc: Exception) -> None:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        async with self._sessions.begin() as session:
            job = await session.get(Job, job_id)
            if job is None:
                return
            job.attempts += 1
            job.last_error = error
            if job.attempts < MAX_ATTEMPTS:
                job.run_at = datetime.now(UTC) + timedelta(seconds=min(300, 2 ** job.attempts))
                log.warning("job %s failed (attempt %d), retried later: %s", job.key, job.attempts, error)
                return
            log.error("job %s failed %d times; kept in dead letters: %s", job.key, job.attempts, error)
            session.add(DeadLetter(
                kind="job", platform=job.platform, origin=job.key, error=error,
                payload={"key": job.key, "interlinker": job.interlinker, "job": job.job,
                         "platform": job.platform, "chat_id": job.chat_id, "thread_id": job.thread_id,
                         "params": job.params},
            ))
            await session.execute(delete(Job).where(Job.id == job_id))


async def retry_dead_job(session: AsyncSession, payload: dict[str, Any]) -> None:
    """Put a dead-lettered job back, due now."""
    await schedule(session, payload["key"], payload["interlinker"], payload["job"], payload["platform"],
                   payload["chat_id"], datetime.now(UTC), payload["params"], thread_id=payload.get("thread_id"))


__all__ = ["JobQueue", "chat_lock", "retry_dead_job", "schedule", "unschedule"]
