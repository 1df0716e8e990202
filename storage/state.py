"""Small per-adapter key/value state (sync tokens, device ids, offsets) kept in the main database."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import AdapterStateRow
from storage.sql import insert


class AdapterState:
    """``get``/``set`` for adapters; each call is its own short transaction."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def get(self, platform: str, key: str) -> str | None:
        async with self._sessions() as session:
            row = await session.get(AdapterStateRow, (platform, key))
            return None if row is None else row.value

    async def set(self, platform: str, key: str, value: str) -> None:
        async with self._sessions.begin() as session:
            statement = insert(session, AdapterStateRow).values(platform=platform, key=key, value=value)
            await session.execute(statement.on_conflict_do_update(
                index_elements=[AdapterStateRow.platform, AdapterStateRow.key], set_={"value": value}))

    async def delete(self, platform: str, key: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                delete(AdapterStateRow).where(AdapterStateRow.platform == platform, AdapterStateRow.key == key))

    async def keys(self, platform: str) -> list[str]:
        async with self._sessions() as session:
            rows = await session.scalars(select(AdapterStateRow.key).where(AdapterStateRow.platform == platform))
            return list(rows)
