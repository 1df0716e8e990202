"""SQLite for SQLAlchemy's asyncio engine, run in the event loop instead of a thread per connection.

A statement on a local SQLite file takes microseconds; handing each one to aiosqlite's thread and back
cost ~0.5 ms of CPU (three or four thread hops per statement through SQLAlchemy's adapter), more than
everything else in a vote. Here every call runs at once in the loop. The one thing that may wait is the
write lock held by another connection: instead of SQLite's busy handler (which would sleep in the loop
and could never see the holder finish), a busy statement is retried after an ``asyncio.sleep``, until
``timeout`` seconds have passed. What blocks the loop is therefore only real work, like a recount of a
million ballots; such work is rare and is bounded by the query itself.

Registered as the SQLAlchemy dialect ``sqlite+interlink``; ``storage.engine`` picks it for SQLite URLs.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Generator, Iterable
from typing import Any, TypeVar

from sqlalchemy import pool
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)
from sqlalchemy.engine import URL

T = TypeVar("T")
_BUSY = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
_BUSY_SNAPSHOT = 517  # a deferred reader that tries to write after another commit: retrying cannot help
_FIRST_PAUSE, _LONGEST_PAUSE = 0.0005, 0.02


async def patiently(call: Callable[[], T], patience: float) -> T:
    """``call()``; while another connection holds the write lock, wait for it without blocking the loop."""
    deadline: float | None = None
    pause = _FIRST_PAUSE
    while True:
        try:
            return call()
        except sqlite3.OperationalError as exc:
            code = getattr(exc, "sqlite_errorcode", None)
            if code == _BUSY_SNAPSHOT or code is None or code & 0xFF not in _BUSY:
                raise
            now = time.monotonic()
            deadline = deadline if deadline is not None else now + patience
            if now >= deadline:
                raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, _LONGEST_PAUSE)


class Cursor:
    """The part of aiosqlite's cursor that SQLAlchemy's adapter uses, run in the calling thread."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._cursor: sqlite3.Cursor = connection._conn.cursor()

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Any = ()) -> Cursor:
        await patiently(lambda: self._cursor.execute(sql, parameters), self._connection.timeout)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> Cursor:
        rows = list(parameters)
        await patiently(lambda: self._cursor.executemany(sql, rows), self._connection.timeout)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    async def setinputsizes(self, *_sizes: Any) -> None:
        return None

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class Connection:
    """The part of aiosqlite's connection that SQLAlchemy's adapter uses; awaiting it opens the file."""

    def __init__(self, database: str, timeout: float = 5.0, **kwargs: Any) -> None:
        self._args = (database, kwargs)
        self.timeout = timeout
        self._conn: Any = None

    def __await__(self) -> Generator[Any, None, Connection]:
        database, kwargs = self._args
        # busy_timeout 0: SQLite must never sleep in the loop; ``patiently`` waits instead.
        kwargs["check_same_thread"] = False
        self._conn = sqlite3.connect(database, timeout=0, **kwargs)
        return self
        yield  # a generator that returns at once

    @property
    def _connection(self) -> Any:  # SQLAlchemy checks it before commit and rollback
        return self._conn

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level  # type: ignore[no-any-return]

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self._conn.isolation_level = value

    def cursor(self) -> Cursor:
        return Cursor(self)

    async def commit(self) -> None:
        await patiently(self._conn.commit, self.timeout)

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)


class _Module:
    """What ``AsyncAdapt_aiosqlite_dbapi`` reads from the aiosqlite module."""

    Connection = Connection
    connect = Connection

    def __getattr__(self, name: str) -> Any:  # exceptions and version come from sqlite3 itself
        return getattr(sqlite3, name)


class _AdaptedConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()

    @property
    def isolation_level(self) -> str | None:
        return self._connection.isolation_level  # type: ignore[no-any-return]

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self._connection.isolation_level = value


class _DBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *args: Any, **kwargs: Any) -> _AdaptedConnection:
        from sqlalchemy.util.concurrency import await_

        kwargs.pop("async_creator_fn", None)
        return _AdaptedConnection(self, await_(Connection(*args, **kwargs)))  # type: ignore[arg-type]


class SQLiteDialect(SQLiteDialect_aiosqlite):
    """``sqlite+interlink``: SQLAlchemy's aiosqlite dialect over the in-loop driver above."""

    driver = "interlink"
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> AsyncAdapt_aiosqlite_dbapi:
        return _DBAPI(_Module(), sqlite3)  # type: ignore[arg-type]

    def retrieve_dbapi_version(self, dbapi: Any) -> Any:
        return None

    @classmethod
    def get_pool_class(cls, url: URL) -> type[pool.Pool]:
        return pool.AsyncAdaptedQueuePool if cls._is_url_file_db(url) else pool.StaticPool


dialect = SQLiteDialect
