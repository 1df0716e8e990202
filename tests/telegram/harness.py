"""Runs the real core (``bot.app.App``) with the Telegram adapter against our fake Bot API server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import select

from adapters.telegram import TelegramAdapter
from bot.app import App
from bot.config import load_settings
from bot.officers import add_officer, grant, new_api_key
from storage.models import Initiative
from tests.botapi import FakeBotAPI, Sent


def environment(api: FakeBotAPI, state_dir: Path, **extra: str) -> dict[str, str]:
    """The variables an operator would set, pointing at the fake server and a private state dir."""
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "none.toml").write_text("")
    return {
        "INTERLINK_STATE_DIR": str(state_dir),
        "INTERLINK_DATABASE_URL": f"sqlite+aiosqlite:///{state_dir / 'interlink.db'}",
        "INTERLINK_SECRET": "telegram-tests-secret-0123456789",
        "INTERLINK_HTTP_PORT": "0",
        "INTERLINK_CONFIG": str(state_dir / "none.toml"),
        "INTERLINK_TELEGRAM_TOKEN": api.token,
        "INTERLINK_TELEGRAM_API_URL": api.url,
        "INTERLINK_TELEGRAM_POLL_TIMEOUT": "1",
        "INTERLINK_TELEGRAM_RATE_PER_CHAT": "50/s",
        "INTERLINK_TELEGRAM_RATE_PER_GROUP": "100/s",
        "INTERLINK_TELEGRAM_RATE_GLOBAL": "500/s",
        **{f"INTERLINK_TELEGRAM_{k.upper()}": v for k, v in extra.items()},
    }


@dataclass
class Harness:
    api: FakeBotAPI
    app: App
    adapter: TelegramAdapter
    api_key: str | None = None
    officer_id: int = 0

    @property
    def http_url(self) -> str:
        server = self.app.http_server
        return f"http://127.0.0.1:{server.port}"

    async def officer_key(self) -> str:
        """A read API key of an officer given every initiative the bot knows so far. Granted one by one: an
        officer made with ``sees_all`` (``--all``) sees only initiatives with a group chat, and the outcomes
        of a poll in a private chat are read here too."""
        async with self.app.sessions.begin() as session:
            if self.api_key is None:
                officer = await add_officer(session, "Giulia Rossi", None, "en", "Europe/Rome", [])
                self.officer_id = officer.id
                self.api_key = await new_api_key(session, officer.id, "read", "telegram tests")
            for initiative_id in await session.scalars(select(Initiative.id)):
                await grant(session, self.officer_id, initiative_id)
        return self.api_key

    async def outcomes(self, count: int, within: float = 10.0) -> list[dict[str, Any]]:
        """GET /api/v1/outcomes until it lists ``count`` outcomes (the outbox delivers them shortly), as an
        officer given every initiative there is when it is called."""
        headers = {"Authorization": f"Bearer {await self.officer_key()}"}
        deadline = asyncio.get_running_loop().time() + within
        async with aiohttp.ClientSession() as session:
            while True:
                async with session.get(f"{self.http_url}/api/v1/outcomes", headers=headers) as response:
                    body = await response.json()
                    assert response.status == 200, body
                documents: list[dict[str, Any]] = body["items"]
                if len(documents) >= count or asyncio.get_running_loop().time() > deadline:
                    return documents
                await asyncio.sleep(0.1)


def buttons_of(sent: Sent) -> dict[str, str]:
    """Label → callback data of a message's inline keyboard."""
    return {label: data for row in sent.buttons for label, data in row}


def button(sent: Sent, fragment: str) -> str:
    return next(data for label, data in buttons_of(sent).items() if fragment in label)


@contextlib.asynccontextmanager
async def start_harness(api: FakeBotAPI, state_dir: Path, http: bool = False, http_port: int = 0,
                        **extra: str) -> AsyncIterator[Harness]:
    environ = {**environment(api, state_dir, **extra), "INTERLINK_HTTP_PORT": str(http_port)}
    settings = load_settings(environ=environ)
    adapter = TelegramAdapter.from_settings(settings)
    assert adapter is not None
    app = App(settings, adapters=[adapter], http=http)
    await app.start()
    try:
        yield Harness(api, app, adapter)
    finally:
        await app.stop()
