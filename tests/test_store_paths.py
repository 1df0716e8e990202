"""The store's fast paths behave like the slow ones: SQLite in the event loop waits for a busy write lock
without stopping the loop, and hot statements raise SQLAlchemy's own errors in their transaction."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import create_async_engine

from storage.engine import async_url, create_engine, session_factory
from storage.hot import Hot

_metadata = MetaData()
_things = Table("things", _metadata, Column("id", Integer, primary_key=True), Column("name", String(60)))
_ADD = Hot(_things.insert())
_NAMED = Hot(select(_things.c.id).where(_things.c.name == bindparam("wanted")))


async def test_a_write_waiting_for_the_sqlite_lock_lets_the_loop_run(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'busy.db'}")
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_metadata.create_all)
        holder = await engine.connect()
        await holder.begin()
        await holder.execute(_things.insert().values(id=1, name="first"))  # holds the only write lock
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        async def write() -> None:
            async with engine.begin() as connection:
                await connection.execute(_things.insert().values(id=2, name="second"))

        ticker = asyncio.create_task(tick())
        writer = asyncio.create_task(write())
        await asyncio.sleep(0.3)
        assert not writer.done(), "the second write must wait for the lock"
        assert ticks >= 15, "waiting for the lock must not stop the event loop"
        await holder.commit()
        await holder.close()
        await asyncio.wait_for(writer, 2)
        ticker.cancel()
        async with engine.connect() as connection:
            assert list((await connection.execute(select(_things.c.name).order_by(_things.c.id))).scalars()) == [
                "first", "second"]
    finally:
        await engine.dispose()


async def test_a_write_that_never_gets_the_sqlite_lock_fails_as_database_locked(tmp_path: Path) -> None:
    engine = create_async_engine(async_url(f"sqlite:///{tmp_path / 'locked.db'}"), connect_args={"timeout": 0.2})
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_metadata.create_all)
        async with engine.connect() as holder:
            await holder.begin()
            await holder.execute(_things.insert().values(id=1, name="first"))
            with pytest.raises(OperationalError, match="locked"):
                async with engine.begin() as connection:
                    await connection.execute(_things.insert().values(id=2, name="second"))
    finally:
        await engine.dispose()


async def test_hot_statements_share_the_transaction_and_raise_sqlalchemy_errors(database_url: str) -> None:
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_metadata.create_all)
        with pytest.raises(IntegrityError):
            async with sessions.begin() as session:
                await _ADD.run(session, {"id": 1, "name": "kept only if all commits"})
                assert (await _NAMED.run(session, {"wanted": "kept only if all commits"})).scalar() == 1
                await _ADD.run(session, {"id": 1, "name": "the same id again"})
        async with sessions() as session:  # the failed transaction left nothing
            assert (await _NAMED.run(session, {"wanted": "kept only if all commits"})).rows == []
        async with sessions.begin() as session:
            await _ADD.run(session, {"id": 2, "name": "two"})
            await session.execute(text("SELECT 1"))  # the ORM session and the hot path, one transaction
        async with sessions() as session:
            assert (await _NAMED.run(session, {"wanted": "two"})).scalar() == 2
    finally:
        async with engine.begin() as connection:
            await connection.run_sync(_metadata.drop_all)
        await engine.dispose()
