"""Runs the real core (``bot.app.App``) with the Telegram adapter against our fake Bot API server."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from adapters.telegram import TelegramAdapter
from bot.app import App
from bot.config import load_settings
from tests.botapi import FakeBotAPI


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

    @property
    def http_url(self) -> str:
        server = self.app.http_server
        return f"http://127.0.0.1:{server.port}"


@contextlib.asynccontextmanager
async def start_harness(api: FakeBotAPI, state_dir: Path, http: bool = False, **extra: str
                        ) -> AsyncIterator[Harness]:
    settings = load_settings(environ=environment(api, state_dir, **extra))
    adapter = TelegramAdapter.from_settings(settings)
    assert adapter is not None
    app = App(settings, adapters=[adapter], http=http)
    await app.start()
    try:
        yield Harness(api, app, adapter)
    finally:
        await app.stop()
