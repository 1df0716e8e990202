"""When the database or the PA store is down, people get a clear message and nothing is lost."""

from __future__ import annotations

import asyncio
import contextlib
import io
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import aiohttp
import pytest
from sqlalchemy.engine import make_url

from adapters.console import ConsoleAdapter
from bot.app import App
from bot.config import Settings
from bot.officers import add_officer, new_api_key
from storage.models import ChatLink, Initiative


class CuttableProxy:
    """A TCP proxy to the real PostgreSQL server that the test can cut and restore, like a network
    outage between the bot and its database. It runs its own event loop in a thread, so it keeps
    relaying whatever the bot's loop is doing."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.server: asyncio.Server | None = None
        self.port = 0
        self._pipes: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self._writers.update({writer, up_writer})
        for task in (self._pipe(reader, up_writer), self._pipe(up_reader, writer)):
            pipe = asyncio.create_task(task)
            self._pipes.add(pipe)
            pipe.add_done_callback(self._pipes.discard)

    def start_thread(self) -> None:
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

    def _run(self, coro: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def open(self) -> None:
        self._run(self._open())

    def cut(self) -> None:
        self._run(self._cut())

    def close(self) -> None:
        self.cut()
        self.loop.call_soon_threadsafe(self.loop.stop)

    async def _open(self) -> None:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _cut(self) -> None:
        if self.server is None:
            return
        self.server.close()
        await self.server.wait_closed()
        for writer in self._writers:
            writer.transport.abort()
        for pipe in list(self._pipes):
            pipe.cancel()
        self._writers.clear()
        self.server = None


async def test_database_outage_gets_a_clear_message_and_loses_nothing(
    database_url: str, make_settings: Callable[..., Settings]
) -> None:
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        pytest.skip("an outage between bot and database needs a networked database")
    proxy = CuttableProxy(url.host or "127.0.0.1", url.port or 5432)
    proxy.start_thread()
    proxy.open()
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    out = io.StringIO()
    console = ConsoleAdapter(stdin=io.StringIO(""), stdout=out)
    app = App(make_settings(proxied), adapters=[console], http=False)
    await app.start()
    try:
        await console.feed("@ann /poll Repair the swings? | Yes | No")
        proxy.cut()
        before = out.tell()
        await console.feed("@ben /vote 1 1")
        out.seek(before)
        assert out.read() == "bot: The database cannot be reached right now, so nothing was done. Please try again.\n"
        proxy.open()
        before = out.tell()
        await console.feed("@ben /vote 1 1")
        await console.feed("@ben /results 1")
        out.seek(before)
        answer = out.read()
        assert "Your vote in poll #1 is counted: “Yes”." in answer
        assert "1. Yes — ██████████ 1 vote (100%)" in answer
    finally:
        await app.stop()
        proxy.close()


async def test_pa_store_down_is_reported_by_health_and_api(
    database_url: str, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(database_url, pa_database_url="postgresql://nobody@127.0.0.1:1/pa")
    app = App(settings, http=True)
    await app.start()
    try:
        # An initiative with a group chat, an officer who sees it and their key live in the core store, which
        # answers: the request gets past the key and the officer's initiatives to the PA store that is down.
        async with app.sessions.begin() as session:
            initiative = Initiative(name="Via Roma neighbours", timezone="Europe/Rome", locale="en")
            session.add(initiative)
            await session.flush()
            session.add(ChatLink(platform="telegram", chat_id="-100801", initiative_id=initiative.id, title="Via Roma"))
            officer = await add_officer(session, "Giulia Rossi", None, "en", "Europe/Rome", [], sees_all=True)
            key = await new_api_key(session, officer.id, "read", "outage test")
        base = f"http://127.0.0.1:{app.http_server.port}"
        async with aiohttp.ClientSession() as client:
            async with client.get(f"{base}/healthz") as response:
                assert response.status == 503
                assert (await response.json())["status"] == "unavailable"
            async with client.get(f"{base}/api/v1/outcomes", headers={"Authorization": f"Bearer {key}"}) as response:
                assert response.status == 503
                assert response.headers["Retry-After"] == "5"
                assert (await response.json())["error"]["code"] == "unavailable"
    finally:
        await app.stop()
