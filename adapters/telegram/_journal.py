"""The journal: updates fetched by long polling that one slow chat holds up are kept in the adapter's
state, so the batch can be confirmed to Telegram (and the other chats heard) without risking them: a
SIGKILL replays them at the next start of whichever worker holds the polling lease."""

from __future__ import annotations

import contextlib
import json
import logging
import time
from typing import TYPE_CHECKING, Any

from telegram import Bot
from telegram import Update as TgUpdate

from bot.adapter import CoreAPI

log = logging.getLogger(__name__)
PLATFORM = "telegram"
INBOX_PREFIX = "inbox:"


class Journaling:
    """The journal half of ``TelegramAdapter``."""

    bot: Bot
    _core: CoreAPI | None
    _journaled: dict[int, str]
    _journal_left: dict[str, int]

    if TYPE_CHECKING:  # provided by the receiving half (a stub at run time would shadow it in the MRO)
        def _dispatch(self, updates: list[TgUpdate], received: float) -> Any: ...

    async def _journal(self, updates: list[dict[str, Any]]) -> bool:
        """Keep updates that are taking long in the store (as Telegram sent them), so they can be
        confirmed to Telegram."""
        state = getattr(self._core, "state", None)
        if state is None:
            return False
        key = f"{INBOX_PREFIX}{updates[0]['update_id']}"
        try:
            await state.set(PLATFORM, key, json.dumps(updates))
        except Exception as exc:
            log.warning("telegram: could not journal %d slow update(s): %s", len(updates), exc)
            return False
        for update in updates:
            self._journaled[update["update_id"]] = key
        self._journal_left[key] = len(updates)
        return True

    async def _unjournal(self, update_id: int) -> None:
        key = self._journaled.pop(update_id, None)
        if key is None:
            return
        self._journal_left[key] -= 1
        if self._journal_left[key] == 0:
            del self._journal_left[key]
            state = getattr(self._core, "state", None)
            if state is not None:
                with contextlib.suppress(Exception):
                    await state.delete(PLATFORM, key)

    async def _replay_journal(self) -> None:
        """Updates journaled by a previous run that did not finish them (the core skips any it had)."""
        state = getattr(self._core, "state", None)
        if state is None:
            return
        keys = sorted((k for k in await state.keys(PLATFORM) if k.startswith(INBOX_PREFIX)),
                      key=lambda k: int(k[len(INBOX_PREFIX):]))
        for key in keys:
            raw = await state.get(PLATFORM, key)
            updates = [TgUpdate.de_json(item, self.bot) for item in json.loads(raw or "[]")]
            updates = [u for u in updates if u is not None]
            for update in updates:
                self._journaled[update.update_id] = key
            self._journal_left[key] = len(updates)
            if updates:
                log.info("telegram: replaying %d journaled update(s)", len(updates))
                self._dispatch(updates, time.monotonic())
            else:
                await state.delete(PLATFORM, key)
