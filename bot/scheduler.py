"""Persistent jobs on APScheduler 3.11: stored in the database, so they survive restarts.

APScheduler pickles jobs, so every job is the same importable function, ``run_job``, with plain
parameters naming the Interlinker and job to run. Late jobs still run once (no misfire limit,
coalesced); handlers must be idempotent, because a crash during a run is reconciled at the next start.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger

from storage.engine import sync_url

log = logging.getLogger(__name__)
JobRunner = Callable[[str, str, dict[str, Any]], Awaitable[None]]
_runner: JobRunner | None = None


async def run_job(interlinker: str, job: str, params: dict[str, Any]) -> None:
    """The one function every stored job points at; dispatches to the running application."""
    if _runner is None:
        log.warning("job %s.%s fired with no application running", interlinker, job)
        return
    await _runner(interlinker, job, params)


class Scheduler:
    def __init__(self, database_url: str, runner: JobRunner) -> None:
        self._url = sync_url(database_url)
        self._runner = runner
        self._scheduler: AsyncIOScheduler | None = None

    def start(self) -> None:
        global _runner
        _runner = self._runner
        store = SQLAlchemyJobStore(url=self._url.render_as_string(hide_password=False), tablename="scheduled_jobs")
        self._scheduler = AsyncIOScheduler(
            jobstores={"default": store},
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )
        self._scheduler.start()

    def shutdown(self) -> None:
        global _runner
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._scheduler = None
        _runner = None

    def add(self, interlinker: str, job: str, run_at: datetime, job_id: str, params: dict[str, Any]) -> None:
        assert self._scheduler is not None, "scheduler not started"
        self._scheduler.add_job(
            run_job,
            trigger=DateTrigger(run_date=run_at),
            args=[interlinker, job, params],
            id=job_id,
            replace_existing=True,
        )

    def remove(self, job_id: str) -> None:
        if self._scheduler is not None and self._scheduler.get_job(job_id) is not None:
            self._scheduler.remove_job(job_id)

    def has(self, job_id: str) -> bool:
        return self._scheduler is not None and self._scheduler.get_job(job_id) is not None
