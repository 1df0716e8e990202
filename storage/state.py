"""Small per-adapter key/value state (sync tokens, device ids, offsets) kept in the main database."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from storage.models import AdapterStateRow


class AdapterState:
    """``get``/``set`` for adapters; each call is its own short transaction."""

    def __init__(self, sessions: async_sessionmaker) -> None:
        self._sessions = sessions

    async def get(self, platform: str, key: str) -> str | None:
        async with self._sessions() as session:
            row = await session.get(AdapterStateRow, (platform, key))
            return None if row is None else row.value

    async def set(self, platform: str, key: str, value: str) -> None:
        async with self._sessions.begin() as session:
            row = await session.get(AdapterStateRow, (platform, key))
            if row is None:
                session.add(AdapterStateRow(platform=platform, key=key, value=value))
            else:
                row.value = value

    async def delete(self, platform: str, key: str) -> None:
        async with self._sessions.begin() as session:
            row = await session.get(AdapterStateRow, (platform, key))
            if row is not None:
                await session.delete(row)

    async def keys(self, platform: str) -> list[str]:
        async with self._sessions() as session:
            rows = await session.scalars(select(AdapterStateRow.key).where(AdapterStateRow.platform == platform))
            return list(rows)
