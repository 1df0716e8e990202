"""Shared fixtures: real databases (SQLite always, PostgreSQL when CI provides one), settings, and a
console harness that plays a group chat through the real console adapter and core."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.engine import make_url

from adapters.console import ConsoleAdapter
from bot.app import App
from bot.config import Settings, load_settings
from storage.models import Job

POSTGRES_ENV = "INTERLINK_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", "postgres"]


def _postgres_admin_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


async def _admin(admin_url: str, statement: str) -> None:
    import asyncpg

    url = make_url(admin_url)
    conn = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, password=url.password, database=url.database
    )
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def _create_pg_database(admin_url: str) -> tuple[str, str]:
    name = f"interlink_test_{uuid.uuid4().hex[:12]}"
    await _admin(admin_url, f'CREATE DATABASE "{name}"')
    url = make_url(admin_url).set(drivername="postgresql+asyncpg", database=name)
    return url.render_as_string(hide_password=False), name


async def _drop_pg_database(admin_url: str, name: str) -> None:
    await _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database on each backend. PostgreSQL tests skip, visibly, without a server."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'interlink.db'}"
        return
    admin = _postgres_admin_url()
    if admin is None:
        pytest.skip(f"PostgreSQL tests need {POSTGRES_ENV} (set by .ci/run)")
    url, name = asyncio.run(_create_pg_database(admin))
    yield url
    asyncio.run(_drop_pg_database(admin, name))


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def build(database_url: str | None = None, **values: str) -> Settings:
        config = tmp_path / "interlink.toml"
        config.touch()
        environ = {
            "INTERLINK_CONFIG": str(config),
            "INTERLINK_STATE_DIR": str(tmp_path / "var"),
            "INTERLINK_SECRET": "test-secret-0123456789abcdef",
            "INTERLINK_HTTP_PORT": "0",
            "INTERLINK_TIMEZONE": "Europe/Rome",
        }
        if database_url:
            environ["INTERLINK_DATABASE_URL"] = database_url
        environ.update({f"INTERLINK_{k.upper()}": v for k, v in values.items()})
        return load_settings(environ=environ)

    return build


class ConsoleChat:
    """Plays a group chat through the real console adapter: ``await chat.say("@ann /poll ...")``
    returns what the bot printed in answer."""

    def __init__(self, app: App, adapter: ConsoleAdapter, out: io.StringIO) -> None:
        self.app, self.adapter, self._out = app, adapter, out

    async def say(self, line: str) -> str:
        return await self._printed(self.adapter.feed(line))

    async def fire(self, prefix: str) -> str:
        """Make the jobs whose key starts with ``prefix`` due now (as if the clock had reached them), run
        what is due, and return what the bot printed."""
        async with self.app.services.sessions.begin() as session:
            await session.execute(update(Job).where(Job.key.startswith(prefix)).values(run_at=datetime.now(UTC)))
        return await self._printed(self.app.services.jobs.run_due())

    async def printed_eventually(self, *texts: str, within: float = 10.0) -> str:
        """Everything printed so far, once each of ``texts`` is in it (work done by the background job
        runner or sender, not in answer to a line); fails after ``within`` seconds."""
        deadline = asyncio.get_running_loop().time() + within
        while not all(text in self._out.getvalue() for text in texts):
            assert asyncio.get_running_loop().time() < deadline, f"never printed: {texts}\n{self._out.getvalue()}"
            await asyncio.sleep(0.05)
        return self._out.getvalue()

    async def _printed(self, action: Awaitable[object]) -> str:
        start = self._out.tell()
        await action
        self._out.seek(start)
        text = self._out.read()
        self._out.seek(0, io.SEEK_END)
        return text


@pytest.fixture
async def console_chat(database_url: str, make_settings: Callable[..., Settings]) -> AsyncIterator[ConsoleChat]:
    async with running_console(make_settings(database_url)) as chat:
        yield chat


@contextlib.asynccontextmanager
async def running_console(settings: Settings, *, http: bool = False) -> AsyncIterator[ConsoleChat]:
    """A started app with the console adapter (and, with ``http``, its HTTP server), stopped afterwards."""
    out = io.StringIO()
    adapter = ConsoleAdapter(stdin=io.StringIO(""), stdout=out)
    app = App(settings, adapters=[adapter], http=http)
    await app.start()
    try:
        yield ConsoleChat(app, adapter, out)
    finally:
        await app.stop()


def altered(token: str) -> str:
    """``token`` with its last character changed (a forged or mistyped link): never the token itself."""
    return token[:-1] + ("x" if token[-1] != "x" else "y")
