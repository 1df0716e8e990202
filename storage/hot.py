"""The few statements every update runs, compiled once and sent straight to the driver.

A vote runs about ten statements. Through ``AsyncSession.execute`` each one costs ~0.15 ms of CPU on top
of the driver (a greenlet hop, an execution context, a result object), more than asyncpg's own work and
more than the rest of a vote's Python. ``Hot`` keeps SQLAlchemy where it is good, building and
compiling the statement (once per dialect and set of columns) with its type processing, and runs it on
the connection of the caller's session, inside the same transaction, without that per-call machinery.

Errors come out as SQLAlchemy's own (``IntegrityError``, ``OperationalError``…), so callers retry
conflicts and report an unreachable store exactly as for any other statement. The asyncpg path uses a
few attributes of SQLAlchemy's asyncpg adapter (its prepared-statement cache and lazy ``BEGIN``); they
are pinned by the ``sqlalchemy<2.2`` requirement and covered by the PostgreSQL tests.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exc
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql import ClauseElement

from storage.sqlite_driver import patiently

_STATUS = re.compile(r"(?:SELECT|UPDATE|DELETE|INSERT \d+) (\d+)")
_KEPT = "storage.hot.connection"  # session.info key: the connection of the session's transaction


@dataclass(frozen=True, slots=True)
class Outcome:
    """Rows returned (SELECT, RETURNING) and rows touched."""

    rows: list[tuple[Any, ...]]
    rowcount: int

    def first(self) -> tuple[Any, ...] | None:
        return self.rows[0] if self.rows else None

    def scalar(self) -> Any:
        return self.rows[0][0] if self.rows else None


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]
    binds: tuple[Callable[[Any], Any] | None, ...]
    results: tuple[Callable[[Any], Any] | None, ...]
    fixed: dict[str, Any]  # values written into the statement (literals, CASE results)
    defaults: tuple[tuple[str, Any], ...]  # an INSERT's columns with a Python-side default


class Hot:
    """A statement built once, run with ``await hot.run(session, params)``. An INSERT is compiled for
    exactly the columns in ``params`` (Python-side column defaults are not applied: pass every value)."""

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._compiled: dict[tuple[str, frozenset[str] | None], _Compiled] = {}
        # a VALUES insert names its columns per call; INSERT … SELECT takes its values as binds
        self._is_insert = bool(getattr(statement, "is_insert", False)) and getattr(statement, "select", None) is None

    def _compile(self, dialect: Dialect, keys: frozenset[str] | None) -> _Compiled:
        compiled: Any = self.statement.compile(dialect=dialect, column_keys=sorted(keys) if keys else None)
        names = tuple(compiled.positiontup or ())
        processors = compiled._bind_processors
        results = tuple(
            column[3]._cached_result_processor(dialect, None) if column[3] is not None else None
            for column in compiled._result_columns
        ) if compiled._result_columns else ()
        fixed = {name: bind.effective_value for name, bind in compiled.binds.items() if not bind.required}
        defaults = tuple((column.key, column.default) for column in getattr(compiled, "insert_prefetch", ())
                         if column.default is not None and column.key not in (keys or ()))
        return _Compiled(compiled.string, names, tuple(processors.get(name) for name in names), results, fixed,
                         defaults)

    async def run(self, where: AsyncSession | AsyncConnection, params: Mapping[str, Any]) -> Outcome:
        connection, adapted = await _connection_of(where)
        dialect = connection.dialect
        keys = frozenset(params) if self._is_insert else None
        compiled = self._compiled.get((dialect.name, keys))
        if compiled is None:
            compiled = self._compiled[(dialect.name, keys)] = self._compile(dialect, keys)
        fixed = compiled.fixed
        if compiled.defaults:
            params = dict(params)
            for key, default in compiled.defaults:
                params[key] = default.arg(None) if default.is_callable else default.arg
        args = [value if bind is None else bind(value)
                for name, bind in zip(compiled.names, compiled.binds, strict=True)
                for value in (params[name] if name in params or name not in fixed else fixed[name],)]
        try:
            if dialect.name == "sqlite":
                rows, count = await _sqlite(adapted._connection, compiled.sql, args)
            else:
                rows, count = await _asyncpg(adapted, dialect, compiled.sql, args)
        except Exception as error:
            raise await _translated(connection, adapted, compiled.sql, args, error) from error
        if compiled.results and any(compiled.results):
            rows = [tuple(value if process is None else process(value)
                          for value, process in zip(row, compiled.results, strict=False)) for row in rows]
        return Outcome(rows, count)


async def _connection_of(where: AsyncSession | AsyncConnection) -> tuple[AsyncConnection, Any]:
    """The connection and its driver adapter; a session's pair is kept for the rest of its transaction
    (the same connection until it ends), saving two greenlet hops per statement."""
    if isinstance(where, AsyncConnection):
        return where, (await where.get_raw_connection()).dbapi_connection
    transaction = where.sync_session.get_transaction()
    kept = where.info.get(_KEPT)
    if kept is not None and transaction is not None and kept[0] is transaction:
        return kept[1], kept[2]
    connection = await where.connection()
    adapted = (await connection.get_raw_connection()).dbapi_connection
    where.info[_KEPT] = (where.sync_session.get_transaction(), connection, adapted)
    return connection, adapted



async def _sqlite(driver: Any, sql: str, args: Sequence[Any]) -> tuple[list[tuple[Any, ...]], int]:
    cursor = await patiently(lambda: driver._conn.execute(sql, args), driver.timeout)
    try:
        return cursor.fetchall(), cursor.rowcount
    finally:
        cursor.close()


async def _asyncpg(adapted: Any, dialect: Any, sql: str, args: Sequence[Any]) -> tuple[list[tuple[Any, ...]], int]:
    async with adapted._execute_mutex:
        if adapted._transaction is None:
            await adapted._start_transaction()  # SQLAlchemy's lazy BEGIN, as its own cursor does
        prepared, _attributes = await adapted._prepare(sql, dialect._invalidate_schema_cache_asof)
        rows = await prepared.fetch(*args)
        status = _STATUS.match(prepared.get_statusmsg() or "")
        return [tuple(row) for row in rows], int(status.group(1)) if status else -1


async def _translated(connection: AsyncConnection, adapted: Any, sql: str, args: Sequence[Any],
                      error: Exception) -> Exception:
    """The error as SQLAlchemy would raise it; a connection that is gone is invalidated, as SQLAlchemy
    does, so the pool does not hand it out again."""
    dialect: Any = connection.dialect
    dbapi = dialect.loaded_dbapi
    original: Exception = error
    if not isinstance(error, dbapi.Error):
        try:
            adapted._handle_exception_no_connection(dbapi, error)
        except Exception as mapped:
            original = mapped
    if not isinstance(original, dbapi.Error):
        return original
    gone = bool(dialect.is_disconnect(original, adapted, None))
    if gone:
        await connection.invalidate()
    translated: Exception = exc.DBAPIError.instance(sql, list(args), original, dbapi.Error,
                                                    connection_invalidated=gone, dialect=dialect)
    return translated
