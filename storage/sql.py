"""Small SQL helpers that make concurrent writes safe on both backends.

Two updates that both "SELECT, then INSERT if missing" race on PostgreSQL (SQLite's single writer hides
it): every such write here is one ``INSERT … ON CONFLICT`` statement instead, and work for one chat is
serialised across workers by a transaction-scoped advisory lock.
"""

from __future__ import annotations

import hashlib
from typing import Any, cast

from sqlalchemy import CursorResult, Result, Table, func, select
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Counter


def unreachable(exc: BaseException) -> bool:
    """The store cannot be reached (down, network cut, pool exhausted): nothing was committed and the
    same work should come again later, unlike a conflict or a bug."""
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout | OSError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def is_postgres(session: AsyncSession) -> bool:
    bind = session.bind
    assert bind is not None, "sessions are bound to an engine"
    return bind.dialect.name == "postgresql"


def table_of(model: type[Any]) -> Table:
    """A mapped class's table, for statements on the hot path that skip the ORM (built once, no
    objects loaded: several times cheaper per statement)."""
    return cast(Table, model.__table__)


def affected(result: Result[Any]) -> int:
    """How many rows an INSERT, UPDATE or DELETE touched."""
    return cast(CursorResult[Any], result).rowcount


def insert(session: AsyncSession, model: Any) -> Any:
    """The dialect's ``INSERT`` (with ``on_conflict_do_nothing`` / ``on_conflict_do_update``)."""
    return dialect_insert(is_postgres(session), model)


def dialect_insert(postgres: bool, model: Any) -> Any:
    """PostgreSQL's or SQLite's ``INSERT``; each dialect's module is imported only where it is used (the
    PostgreSQL one costs ~2 MiB that a SQLite installation never needs)."""
    if postgres:
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(model)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(model)


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for PostgreSQL advisory locks (``hash()`` differs between processes)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


async def lock_for_transaction(session: AsyncSession, name: str) -> None:
    """Serialise every transaction that names ``name`` (e.g. one chat) until it ends. On SQLite the first
    write already takes the database's only write lock, so there is nothing to do."""
    if is_postgres(session):
        await session.execute(select(func.pg_advisory_xact_lock(lock_key(name))))


async def next_number(session: AsyncSession, scope: str) -> int:
    """1, 2, 3… per ``scope``, gap-free within committed transactions and never given twice."""
    statement = insert(session, Counter).values(scope=scope, value=1)
    statement = statement.on_conflict_do_update(
        index_elements=[Counter.scope], set_={"value": Counter.value + 1}
    ).returning(Counter.value)
    return int((await session.execute(statement)).scalar_one())
