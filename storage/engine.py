"""Engines and sessions: SQLite (WAL, in the event loop: ``storage.sqlite_driver``) by default, PostgreSQL by URL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects import registry
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

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


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
