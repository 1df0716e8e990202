"""Deliveries to systems outside (a municipality's Open311 endpoint), with retries, once.

An Interlinker writes a ``Delivery`` row in the transaction that decided it (``enqueue``) and names a
``Destination`` it registered. This worker then, for each due row:

1. claims it in a short transaction (``claimed_until``; ``SKIP LOCKED`` on PostgreSQL, so two workers
   never take the same row);
2. calls ``Destination.send`` outside any transaction: a far side that is slow or down never holds a lock
   or a database connection (SQLite has one writer: holding it across an HTTP call stalled every chat);
3. in a second transaction marks it delivered and runs ``Destination.done`` (store the far side's id,
   schedule a message), or sets the next attempt with a backoff.

"Once" is the far side's part as much as ours: after a try that may have reached it (a timeout, a worker
that died mid-call: its claim expires and another worker takes the row) the next ``Attempt`` says
``uncertain``, so ``send`` can look for what it filed before filing again. A far side that refuses the
request for good (``Rejected``, e.g. an HTTP 400) ends in the dead letters for an operator.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.background import BackgroundLoop
from storage.models import DeadLetter, Delivery
from storage.sql import insert, is_postgres

log = logging.getLogger(__name__)
MAX_BACKOFF = 300.0
NEVER = datetime(9999, 1, 1, tzinfo=UTC)


class NotDelivered(Exception):
    """The far side surely did not get it (connection refused, an answer saying it is unavailable): the
    next try need not look for an earlier one."""


class Rejected(Exception):
    """The far side refused it for good (e.g. HTTP 400): retrying would not help."""


@dataclass(frozen=True, slots=True)
class Attempt:
    number: int  # 1 for the first try
    first_at: datetime  # when the delivery was decided
    uncertain: bool  # an earlier try may have reached the far side


@dataclass(frozen=True, slots=True)
class Destination:
    """``send(payload, attempt)`` talks to the far side outside any transaction and returns its answer (as
    JSON-able data), or raises; ``done(session, payload, result)`` runs in the transaction that marks the
    delivery done. ``timeout`` bounds one try (and how long a claim lasts, with a margin)."""

    send: Callable[[dict[str, Any], Attempt], Awaitable[dict[str, Any]]]
    done: Callable[[AsyncSession, dict[str, Any], dict[str, Any]], Awaitable[None]] | None = None
    timeout: float = 30.0


async def enqueue(session: AsyncSession, key: str, interlinker: str, destination: str,
                  payload: dict[str, Any]) -> None:
    """Write a delivery in ``session``'s transaction; the same ``key`` twice is one delivery."""
    statement = insert(session, Delivery).values(
        key=key, interlinker=interlinker, destination=destination, payload=payload, attempts=0,
        created_at=datetime.now(UTC), next_attempt_at=datetime.now(UTC), uncertain=False)
    await session.execute(statement.on_conflict_do_nothing(index_elements=[Delivery.key]))


async def retry_dead_delivery(session: AsyncSession, delivery_id: int) -> None:
    """Put a dead-lettered delivery back, due now."""
    await session.execute(update(Delivery).where(Delivery.id == delivery_id).values(
        next_attempt_at=datetime.now(UTC), claimed_until=None))


Lookup = Callable[[str, str], Destination | None]


class _Claimed(NamedTuple):
    """A delivery this worker claimed, as read in the claiming transaction."""

    id: int
    key: str
    interlinker: str
    destination: str
    payload: dict[str, Any]
    attempt: Attempt


class DeliveryWorker(BackgroundLoop):
    name = "deliveries"

    def __init__(self, sessions: async_sessionmaker[AsyncSession], lookup: Lookup, interval: float = 5.0) -> None:
        super().__init__()
        self._sessions = sessions
        self._lookup = lookup
        self._interval = interval

    async def _run(self) -> None:
        while True:
            try:
                await self.deliver_due()
            except Exception as exc:
                log.warning("deliveries: store unavailable (%s); will retry", exc)
            await self._pause(self._interval)

    async def deliver_due(self) -> int:
        """Try every due delivery once; return how many were delivered."""
        delivered = 0
        for claimed in await self._claim():
            delivered += await self._try(claimed)
            await asyncio.sleep(0)
        return delivered

    async def _claim(self) -> list[_Claimed]:
        now = datetime.now(UTC)
        async with self._sessions.begin() as session:
            query = (select(Delivery).where(
                Delivery.delivered_at.is_(None), Delivery.next_attempt_at <= now,
                or_(Delivery.claimed_until.is_(None), Delivery.claimed_until < now))
                .order_by(Delivery.next_attempt_at, Delivery.id).limit(50))
            if is_postgres(session):
                query = query.with_for_update(skip_locked=True)
            rows = list((await session.scalars(query)).all())
            for row in rows:
                destination = self._lookup(row.interlinker, row.destination)
                lease = (destination.timeout if destination else 30.0) * 2 + 10
                if row.claimed_until is not None:
                    row.uncertain = True  # claimed before and never finished: that worker may have sent it
                row.claimed_until = now + timedelta(seconds=lease)
                row.attempts += 1
            return [_Claimed(row.id, row.key, row.interlinker, row.destination, dict(row.payload),
                             Attempt(row.attempts, row.created_at, row.uncertain)) for row in rows]

    async def _try(self, claimed: _Claimed) -> int:
        row_id, key, interlinker, name, payload, attempt = claimed
        destination = self._lookup(interlinker, name)
        failure: Exception | None = None
        result: dict[str, Any] = {}
        if destination is None:
            failure = Rejected(f"no destination {interlinker}.{name} in this installation")
        else:
            try:
                result = await asyncio.wait_for(destination.send(payload, attempt), destination.timeout)
            except Exception as exc:
                failure = exc
        async with self._sessions.begin() as session:
            row = await session.get_one(Delivery, row_id, with_for_update=is_postgres(session) or None)
            if row.delivered_at is not None:
                return 0
            row.claimed_until = None
            if failure is None:
                row.delivered_at, row.result, row.last_error = datetime.now(UTC), result, None
                if destination is not None and destination.done is not None:
                    await destination.done(session, payload, result)
                return 1
            self._failed(session, row, failure, key)
        return 0

    @staticmethod
    def _failed(session: AsyncSession, row: Delivery, failure: Exception, key: str) -> None:
        error = f"{type(failure).__name__}: {failure}"[:2000]
        row.last_error = error
        if isinstance(failure, Rejected):
            row.next_attempt_at = NEVER
            session.add(DeadLetter(kind="delivery", platform=row.interlinker, origin=key, error=error,
                                   payload={"delivery_id": row.id}))
            log.error("delivery %s refused for good; kept in dead letters: %s", key, error)
            return
        row.uncertain = row.uncertain or not isinstance(failure, NotDelivered)
        row.next_attempt_at = datetime.now(UTC) + timedelta(seconds=min(MAX_BACKOFF, 2.0 ** row.attempts))
        log.warning("delivery %s failed (attempt %d), retried later: %s", key, row.attempts, error)


__all__ = ["Attempt", "DeliveryWorker", "Destination", "NotDelivered", "Rejected", "enqueue", "retry_dead_delivery"]
