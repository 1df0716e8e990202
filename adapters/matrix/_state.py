"""What the halves of ``MatrixAdapter`` share: its state, declared once (set in ``MatrixAdapter.__init__``)."""

from __future__ import annotations

import asyncio
from typing import Any

from adapters.matrix._client import Client
from adapters.matrix._config import MatrixConfig
from bot.adapter import CoreAPI
from bot.config import Settings


class MatrixState:
    config: MatrixConfig
    settings: Settings
    _core: CoreAPI | None
    _client: Client | None
    _stopping: bool
    _in_request: bool
    _syncing: bool
    _next_batch: str | None
    _fresh_joins: set[str]
    _creators: dict[str, str]
    _options: dict[str, tuple[str, ...]]
    _room_options: dict[str, str]
    _polls: dict[str, str]
    _poll_keys: dict[str, str]
    _background: set[asyncio.Task[Any]]
    _direct_rooms: dict[str, str]
    synced: asyncio.Event

    @property
    def user_id(self) -> str:
        assert self._client is not None
        return str(self._client.user_id)
