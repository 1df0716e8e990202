"""Engines and sessions: SQLite (WAL, in the event loop: ``storage.sqlite_driver``) by default, PostgreSQL by URL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects import registry
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

registry.register("sqlite.interlink", "storage.sqlite_driver", "SQLiteDialect")

# SQLite always runs through our in-loop driver (``storage.sqlite_driver``), whichever driver a URL names.
_ASYNC_DRIVERS = {"sqlite": "sqlite+interlink", "sqlite+aiosqlite": "sqlite+interlink",
                  "sqlite+pysqlite": "sqlite+interlink", "postgresql": "postgresql+asyncpg"}


def async_url(url: str) -> URL:
    """Accept plain ``sqlite:///`` and ``postgresql://`` URLs and pick the async driver."""
    parsed = make_url(url)
    if parsed.drivername in _ASYNC_DRIVERS:
        parsed = parsed.set(drivername=_ASYNC_DRIVERS[parsed.drivername])
    return parsed


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def install_sqlite_pragmas(engine: Any) -> None:
    event.listen(engine, "connect", _sqlite_pragmas)


def create_engine(url: str) -> AsyncEngine:
    parsed = async_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            from pathlib import Path

            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(parsed, connect_args={"timeout": 10})  # waits for the write lock
        install_sqlite_pragmas(engine.sync_engine)
        return engine
    # No pre-ping: it cost a round trip per checkout (three per vote). A connection that died with the
    # server fails its first statement, is invalidated, and the update is retried (StoreUnavailable).
    return create_async_engine(parsed)


class Session(AsyncSession):
    """An ``AsyncSession`` whose ``async with`` closes it at once, in the caller's task.

    SQLAlchemy 2.1 ends ``async with sessions.begin()`` (commit, then close) and ``async with sessions()``
    in a task of its own, so a cancelled caller cannot abandon them halfway. That task yields to the event
    loop between a transaction's last statement and its COMMIT: on SQLite every other writer then found
    the write lock taken and waited (a third of the loop idle with ten busy chats), and every update paid
    for a task. Here the commit follows the last statement directly. A caller cancelled during the commit
    still has its session closed (``finally``); on SQLite the commit cannot be interrupted at all, as it
    never yields."""

    async def __aexit__(self, type_: Any, value: Any, traceback: Any) -> None:
        await self.close()


class Sessions(async_sessionmaker[AsyncSession]):
    """``async_sessionmaker`` for ``Session``: ``begin()`` commits and closes in the caller's task."""

    def begin(self) -> Any:  # an async context manager of a Session, like the base class's
        return _begin(self())


@asynccontextmanager
async def _begin(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    try:
        async with session.begin():
            yield session
    finally:
        await session.close()


@asynccontextmanager
async def connect(engine: AsyncEngine, begin: bool = False) -> AsyncIterator[AsyncConnection]:
    """``async with engine.connect()`` (or ``engine.begin()`` with ``begin``), closed in the caller's task
    (see ``Session``)."""
    connection = await engine.connect()
    try:
        if begin:
            async with connection.begin():
                yield connection
        else:
            yield connection
    finally:
        await connection.close()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return Sessions(engine, class_=Session, expire_on_commit=False)
