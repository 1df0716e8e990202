"""Leases: what must run in one process at a time (long polling, a chat network's sync, sending under a
network's rate limits), held through the database so several workers can share one PostgreSQL.

On PostgreSQL a lease is a session advisory lock on a connection of its own: it lasts while that
connection lives and is released by the server the moment the holding process dies, so another worker
(which retries every ``RETRY`` seconds) takes over within seconds. SQLite serves one process only: the
process locks the database file for itself (``claim_sqlite``), and then every lease is its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import IO, Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.sql import lock_key

log = logging.getLogger(__name__)
RETRY = 2.0  # seconds between tries to take a lease someone else holds
CHECK = 1.0  # seconds between checks that the holding connection still lives


class DatabaseInUse(Exception):
    """Another process already serves this SQLite database."""


def claim_sqlite(database: str) -> IO[str]:
    """Lock ``database`` for this process, or raise ``DatabaseInUse`` with one clear line. Keep the
    returned file open for as long as the process serves the database."""
    path = Path(database + ".lock")
    handle = path.open("a+")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "?"
        handle.close()
        raise DatabaseInUse(
            f"another interlink process (pid {holder}) already serves {database}; SQLite serves one "
            "process: stop it, or use PostgreSQL (INTERLINK_DATABASE_URL) for several workers"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


class Leases:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._shared = engine.dialect.name == "postgresql"
        self.held: set[str] = set()
        # Leases this process did not take at its first try (another worker held them, or the database did
        # not answer), or took again: whoever held one before may have used it until a moment ago.
        self.contested: set[str] = set()

    @property
    def shared(self) -> bool:
        """True when several processes may share the database (PostgreSQL)."""
        return self._shared

    async def _take(self, name: str) -> AsyncConnection | None:
        connection = await self._engine.connect()
        try:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            if await autocommit.scalar(select(func.pg_try_advisory_lock(lock_key("lease:" + name)))):
                return connection
        except BaseException:
            await connection.close()
            raise
        await connection.close()
        return None

    async def run_while_held(self, name: str, body: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run ``body`` whenever this process holds lease ``name``; forever, until cancelled. A body
        that ends by itself ends the loop (and the lease)."""
        if not self._shared:
            self.held.add(name)
            try:
                await body()
            finally:
                self.held.discard(name)
            return
        waiting_logged = False
        while True:
            try:
                connection = await self._take(name)
            except Exception as exc:
                log.warning("lease %s: database unavailable (%s); retrying", name, exc)
                connection = None
            if connection is None:
                self.contested.add(name)
                if not waiting_logged:
                    log.info("lease %s: held by another worker; standing by", name)
                    waiting_logged = True
                await asyncio.sleep(RETRY)
                continue
            log.info("lease %s: taken", name)
            self.held.add(name)
            task = asyncio.create_task(body(), name=f"lease-{name}")
            try:
                while not task.done():
                    await asyncio.wait({task}, timeout=CHECK)
                    if task.done():
                        break
                    try:
                        await connection.execute(text("SELECT 1"))
                    except Exception as exc:
                        log.warning("lease %s: lost with its connection (%s)", name, exc)
                        break
                if task.done():
                    task.result()
                    return
            finally:
                self.held.discard(name)
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
                with contextlib.suppress(Exception):
                    await connection.invalidate()  # closes it for real: a pooled one would keep the lock
                with contextlib.suppress(Exception):
                    await connection.close()
            waiting_logged = False
            self.contested.add(name)
