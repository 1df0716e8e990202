"""Dead letters: updates and jobs that still failed after their retries, for an operator to list and
replay (``interlink dead-letters``). A replayed update goes through the whole pipeline again, in one
transaction that also removes its dead letter; its replies are kept in the store and the running
workers' sender delivers them. A replayed job, or delivery to a system outside, is put back, due now, for the
workers to run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import codec
from bot.dispatcher import Dispatcher
from bot.jobs import retry_dead_job
from storage.deliveries import retry_dead_delivery
from storage.models import DeadLetter
from storage.sql import affected


@dataclass(frozen=True)
class Letter:
    id: int
    kind: str
    origin: str
    failed_at: datetime
    error: str

    @property
    def summary(self) -> str:
        lines = [line for line in self.error.strip().splitlines() if line.strip()]
        return lines[-1] if lines else ""


async def list_letters(sessions: async_sessionmaker[AsyncSession]) -> list[Letter]:
    async with sessions() as session:
        rows = await session.scalars(select(DeadLetter).order_by(DeadLetter.id))
        return [Letter(r.id, r.kind, r.origin, r.failed_at, r.error) for r in rows]


async def replay(sessions: async_sessionmaker[AsyncSession], dispatcher: Dispatcher, letter_id: int) -> bool:
    """Replay one dead letter; False if there is none with that id (already replayed)."""
    async with sessions() as session:
        row = await session.get(DeadLetter, letter_id)
        if row is None:
            return False
        kind, payload = row.kind, dict(row.payload)
    if kind == "job":
        async with sessions.begin() as session:
            if not affected(await session.execute(delete(DeadLetter).where(DeadLetter.id == letter_id))):
                return False
            await retry_dead_job(session, payload)
        return True
    if kind == "delivery":
        async with sessions.begin() as session:
            if not affected(await session.execute(delete(DeadLetter).where(DeadLetter.id == letter_id))):
                return False
            await retry_dead_delivery(session, int(payload["delivery_id"]))
        return True
    handled = await dispatcher.handle(codec.decode_update(payload), replay_of=letter_id)
    return not handled.duplicate
