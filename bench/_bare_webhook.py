"""The bare baseline of ``webhook_bench.py``: an aiohttp app whose handler checks the webhook's secret
header, parses the update JSON, checks the button payload's HMAC (our payload format) and upserts one
ballot row keyed by (poll, voter) in its own transaction, then answers 200. Nothing else: it does not
answer the callback query, edit the poll, or know users and chats.

SQLite: stdlib sqlite3, one connection in one thread (WAL, synchronous=NORMAL, as our engine).
PostgreSQL: an asyncpg pool of 5-15 connections (SQLAlchemy's default pool size and overflow).

It imports nothing of the project, so a product tree in mid-edit cannot break it. Run by the benchmark:
``python bench/_bare_webhook.py --db URL --port P --webhook-secret S``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import signal
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from aiohttp import web

BUTTON_SECRET = "bare-baseline-button-secret-0123456789"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def _button_key(secret: str) -> bytes:
    return hashlib.sha256(("buttons:" + secret).encode()).digest()  # the same derivation as bot.buttons


def _mac(key: bytes, body: str) -> str:
    return base64.urlsafe_b64encode(hmac.new(key, body.encode(), hashlib.sha256).digest()).decode()[:10]


def signer(secret: str) -> Callable[[int, int], str]:
    """Payloads in our format (``1.polls.v.<poll>.<position>~<mac>``) for the baseline's buttons."""
    key = _button_key(secret)

    def sign(poll: int, position: int) -> str:
        body = f"1.polls.v.{poll}.{position}"
        return f"{body}~{_mac(key, body)}"

    return sign


class BareStore(Protocol):
    async def open(self) -> None: ...
    async def vote(self, poll: int, voter: str, position: int) -> None: ...
    async def count(self) -> int: ...
    async def close(self) -> None: ...


_TABLE = ("CREATE TABLE IF NOT EXISTS ballots (poll_id INTEGER NOT NULL, voter_key VARCHAR(64) NOT NULL, "
          "position INTEGER NOT NULL, cast_at TIMESTAMP NOT NULL, PRIMARY KEY (poll_id, voter_key))")


class SqliteStore:
    """stdlib sqlite3, one connection in one thread: BEGIN IMMEDIATE, upsert, COMMIT."""

    _UPSERT = ("INSERT INTO ballots (poll_id, voter_key, position, cast_at) VALUES (?, ?, ?, CURRENT_TIMESTAMP) "
               "ON CONFLICT (poll_id, voter_key) DO UPDATE SET position = excluded.position, "
               "cast_at = excluded.cast_at")

    def __init__(self, path: str) -> None:
        self._path = path
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite")
        self._connection: sqlite3.Connection | None = None

    async def _run(self, call: Callable[[], Any]) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._thread, call)

    def _open(self) -> None:
        connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute(_TABLE)
        self._connection = connection

    async def open(self) -> None:
        await self._run(self._open)

    def _vote(self, poll: int, voter: str, position: int) -> None:
        assert self._connection is not None
        self._connection.execute("BEGIN IMMEDIATE")
        try:
            self._connection.execute(self._UPSERT, (poll, voter, position))
            self._connection.execute("COMMIT")
        except BaseException:
            self._connection.execute("ROLLBACK")
            raise

    async def vote(self, poll: int, voter: str, position: int) -> None:
        await self._run(lambda: self._vote(poll, voter, position))

    async def count(self) -> int:
        assert self._connection is not None
        connection = self._connection
        return int(await self._run(lambda: connection.execute("SELECT count(*) FROM ballots").fetchone()[0]))

    async def close(self) -> None:
        if self._connection is not None:
            await self._run(self._connection.close)
        self._thread.shutdown()


class PostgresStore:
    """asyncpg pool: a transaction with one upsert per vote."""

    _UPSERT = ("INSERT INTO ballots (poll_id, voter_key, position, cast_at) VALUES ($1, $2, $3, now()) "
               "ON CONFLICT (poll_id, voter_key) DO UPDATE SET position = excluded.position, "
               "cast_at = excluded.cast_at")

    def __init__(self, url: str) -> None:
        self._url = url
        self._pool: Any = None

    async def open(self) -> None:
        import asyncpg  # type: ignore[import-untyped]

        self._pool = await asyncpg.create_pool(self._url, min_size=5, max_size=15)
        async with self._pool.acquire() as connection:
            await connection.execute(_TABLE)

    async def vote(self, poll: int, voter: str, position: int) -> None:
        async with self._pool.acquire() as connection, connection.transaction():
            await connection.execute(self._UPSERT, poll, voter, position)

    async def count(self) -> int:
        async with self._pool.acquire() as connection:
            return int(await connection.fetchval("SELECT count(*) FROM ballots"))

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()


def bare_app(store: BareStore, webhook_secret: str, button_secret: str) -> web.Application:
    key = _button_key(button_secret)
    expected = webhook_secret.encode()

    async def webhook(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER)
        if given is None:
            return web.Response(status=401)
        if not hmac.compare_digest(given.encode(), expected):
            return web.Response(status=403)
        try:
            update = json.loads(await request.read())
            query = update["callback_query"]
            voter, data = int(query["from"]["id"]), str(query["data"])
            body, _, mac = data.rpartition("~")
            if not hmac.compare_digest(mac.encode(), _mac(key, body).encode()):
                return web.Response(status=400)
            _version, _interlinker, _kind, poll, position = body.split(".")
        except (ValueError, KeyError, TypeError):
            return web.Response(status=400)
        await store.vote(int(poll), f"u:{voter}", int(position))
        return web.Response(status=200)

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def count(_request: web.Request) -> web.Response:
        return web.json_response({"ballots": await store.count()})

    app = web.Application()
    app.router.add_post("/telegram/webhook", webhook)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/count", count)
    return app


async def serve(db: str, port: int, webhook_secret: str) -> None:
    store: BareStore = PostgresStore(db) if db.startswith("postgresql") else SqliteStore(db.removeprefix("sqlite:///"))
    await store.open()
    runner = web.AppRunner(bare_app(store, webhook_secret, BUTTON_SECRET), shutdown_timeout=1.0, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()
    await store.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="the bare webhook baseline of webhook_bench.py")
    parser.add_argument("--db", required=True, help="sqlite:///path or postgresql://...")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--webhook-secret", required=True)
    arguments = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(arguments.db, arguments.port, arguments.webhook_secret))
