"""Delivery of outcomes to the PA-facing store, through the outbox, with retries.

Outcomes and their outbox rows are written in the transaction that decided them; this worker copies
them into the PA store (``pa_outcomes``, keyed by the outcome's uid, so a retry never duplicates) and
marks them delivered. A PA database that is down means retries with backoff, never a lost outcome.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import ledger
from storage.background import BackgroundLoop
from storage.models import Initiative, OutboxItem, Outcome, PAOutcome
from storage.sql import is_postgres

log = logging.getLogger(__name__)
MAX_BACKOFF = 300.0


def outcome_document(outcome: Outcome, initiative: Initiative) -> dict[str, Any]:
    """The JSON form every PA-facing output uses."""
    return {
        "id": outcome.uid,
        "kind": outcome.kind,
        "initiative": initiative.name,
        "title": outcome.payload["title"],
        "result": outcome.payload["result"],
        "decided_at": outcome.decided_at.astimezone(UTC).isoformat(),
    }


async def record_outcome(session: AsyncSession, initiative_id: int, kind: str, title: str, result: dict[str, Any],
                         decided_at: datetime | None = None, by: str | None = None) -> Outcome:
    """Write an outcome, its ledger entry and its outbox row in ``session``'s transaction (wake the
    ``OutboxWorker`` after commit). ``by`` is the pseudonym of who decided it, if anyone did. For code
    outside an update; handlers use ``Context.record_outcome``."""
    outcome = Outcome(uid=str(uuid.uuid4()), initiative_id=initiative_id, kind=kind,
                      payload={"title": title, "result": result}, decided_at=decided_at or datetime.now(UTC))
    session.add(outcome)
    await session.flush()
    await ledger.append(session, initiative_id, kind, ledger_data(outcome), by=by, outcome_uid=outcome.uid)
    session.add(OutboxItem(outcome_id=outcome.id))
    return outcome


def ledger_data(outcome: Outcome) -> dict[str, Any]:
    """What an outcome's ledger entry holds besides its kind and uid (the same fields as its document)."""
    return {"decided_at": outcome.decided_at.astimezone(UTC).isoformat(), "result": outcome.payload["result"],
            "title": outcome.payload["title"]}


class OutboxWorker(BackgroundLoop):
    name = "outbox"

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        pa_sessions: async_sessionmaker[AsyncSession],
        interval: float = 5.0,
        prepare: Callable[[], Awaitable[None]] | None = None,
    ):
        super().__init__()
        self._sessions = sessions
        self._pa_sessions = pa_sessions
        self._interval = interval
        self._prepare = prepare

    async def stop(self) -> None:
        await super().stop()
        with contextlib.suppress(Exception):
            await self.deliver_due()

    async def _run(self) -> None:
        await self._repeat(self.deliver_due, self._interval, log, "outbox delivery failed")

    async def deliver_due(self) -> int:
        """Deliver every due item once; return how many reached the PA store."""
        delivered = 0
        now = datetime.now(UTC)
        async with self._sessions.begin() as session:
            query = (
                select(OutboxItem, Outcome, Initiative)
                .join(Outcome, OutboxItem.outcome_id == Outcome.id)
                .join(Initiative, Outcome.initiative_id == Initiative.id)
                .where(OutboxItem.delivered_at.is_(None), OutboxItem.next_attempt_at <= now)
                .order_by(OutboxItem.id)
                .limit(100)
            )
            if is_postgres(session):
                query = query.with_for_update(skip_locked=True, of=OutboxItem)
            for item, outcome, initiative in (await session.execute(query)).all():
                try:
                    await self._deliver(outcome_document(outcome, initiative))
                except Exception as exc:
                    item.attempts += 1
                    item.last_error = f"{type(exc).__name__}: {exc}"[:1000]
                    backoff = min(MAX_BACKOFF, 2.0 ** item.attempts)
                    item.next_attempt_at = now + timedelta(seconds=backoff)
                    log.warning("outcome %s not delivered (attempt %d): %s", outcome.uid, item.attempts, exc)
                else:
                    item.delivered_at = datetime.now(UTC)
                    delivered += 1
        return delivered

    async def _deliver(self, document: dict[str, Any]) -> None:
        if self._prepare is not None:
            await self._prepare()  # e.g. migrate a separate PA database that was down at start
            self._prepare = None
        async with self._pa_sessions.begin() as pa:
            existing = await pa.get(PAOutcome, document["id"])
            if existing is not None:
                return
            pa.add(
                PAOutcome(
                    uid=document["id"],
                    initiative=document["initiative"],
                    kind=document["kind"],
                    title=document["title"],
                    document=document,
                    decided_at=datetime.fromisoformat(document["decided_at"]),
                )
            )


def outcomes_query(initiatives: Sequence[str] | None = None, since: datetime | None = None,
                   until: datetime | None = None) -> Select[PAOutcome]:
    """The PA store's outcomes of these initiatives (by name; all when None) decided in [since, until),
    oldest first: what every PA-facing reader (summary, dashboard, API) starts from."""
    query = select(PAOutcome).order_by(PAOutcome.decided_at, PAOutcome.uid)
    if initiatives is not None:
        query = query.where(PAOutcome.initiative.in_(initiatives))
    if since is not None:
        query = query.where(PAOutcome.decided_at >= since)
    if until is not None:
        query = query.where(PAOutcome.decided_at < until)
    return query


async def read_outcomes(
    pa_sessions: async_sessionmaker[AsyncSession], initiative: str | None = None,
    since: datetime | None = None, until: datetime | None = None,
) -> list[dict[str, Any]]:
    """Outcomes as PA officers see them, oldest first."""
    async with pa_sessions() as pa:
        query = outcomes_query([initiative] if initiative else None, since, until)
        return [row.document for row in await pa.scalars(query)]
