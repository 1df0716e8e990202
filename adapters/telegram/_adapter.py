"""The Telegram adapter: python-telegram-bot's ``Bot`` (unmodified) for the API calls; receiving
(``_receiving.py``, with its journal in ``_journal.py``), sending (``_sending.py``) and the rate budget
(``_send_queue.py``) are ours. This module holds the lifecycle and what the network says about roles."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict, deque
from typing import TYPE_CHECKING

from telegram import Bot, BotCommand
from telegram import Update as TgUpdate
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError

from adapters.telegram._answers import Answers, Query
from adapters.telegram._config import TelegramConfig
from adapters.telegram._http import AiohttpRequest
from adapters.telegram._receiving import ALLOWED_UPDATES, PLATFORM, POLL_READ_MARGIN, Receiving
from adapters.telegram._render import MAX_TEXT
from adapters.telegram._send_queue import RateLimits, SendQueue
from adapters.telegram._sending import Sending
from bot.adapter import Adapter, Capabilities, CoreAPI
from bot.events import ChatRef, UserRef
from bot.i18n import SUPPORTED_LOCALES
from bot.roles import Role

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)
ROLE_CACHE_SECONDS = 60.0
# Connections to the Bot API server for everything but getUpdates (which has one of its own).
API_CONNECTIONS = 100


class TelegramAdapter(Receiving, Sending, Adapter):
    """Telegram through python-telegram-bot's ``Bot`` (unmodified); polling and sending are ours."""

    platform = PLATFORM
    capabilities = Capabilities(buttons=True, edits=True, native_polls=False, markup=True, max_text=MAX_TEXT)
    waits_for_replies = False  # receiving never waits on a rate limit; the core's sender delivers

    def __init__(self, config: TelegramConfig) -> None:
        self.config = config
        self.queue = SendQueue(RateLimits(config.per_chat, config.per_group, config.global_))
        self._updates_request = AiohttpRequest(read_timeout=config.poll_timeout + POLL_READ_MARGIN)
        self.bot = Bot(
            config.token,
            base_url=f"{config.api_url}/bot",
            base_file_url=f"{config.api_url}/file/bot",
            request=AiohttpRequest(connections=API_CONNECTIONS, read_timeout=20.0),
            get_updates_request=self._updates_request,
        )
        self.answers = Answers(self.bot)
        self._core: CoreAPI | None = None
        self._poller: asyncio.Task[None] | None = None
        self._polling_request = False
        self._polling_active = False
        self._stopping = False
        self._offset: int | None = None
        self._confirmed: int | None = None
        self._admins: dict[int, tuple[float, frozenset[int]]] = {}
        self._inbox: dict[int, deque[tuple[TgUpdate, Query | None, asyncio.Future[None]]]] = defaultdict(deque)
        self._receivers: dict[int, asyncio.Task[None]] = {}
        self._accepted: set[int] = set()
        self._journaled: dict[int, str] = {}
        self._journal_left: dict[str, int] = {}
        self.handled = 0

    def deep_link(self, payload: str) -> str | None:
        """``t.me/<bot>?start=<payload>``: opens the private chat; Telegram sends ``/start <payload>``
        once the person presses Start (payloads: up to 64 of ``A-Za-z0-9_-``)."""
        try:
            name = self.bot.username
        except RuntimeError:  # not initialised (getMe not done yet)
            return None
        return f"https://t.me/{name}" + (f"?start={payload}" if payload else "")

    @classmethod
    def from_settings(cls, settings: Settings) -> TelegramAdapter | None:
        config = TelegramConfig.from_source(settings.source, settings.secret)
        return None if config is None else cls(config)

    # --- lifecycle ---------------------------------------------------------------------------------

    async def start(self, core: CoreAPI) -> None:
        self._core = core
        self._stopping = False
        await self.bot.initialize()  # getMe: fails fast on a wrong token or URL
        await self._publish_commands(core)
        if self.config.webhook_url:
            core.web_app().router.add_post(self.config.webhook_path, self._webhook)
            await self.bot.set_webhook(
                self.config.webhook_url,
                secret_token=self.config.webhook_secret,
                allowed_updates=ALLOWED_UPDATES,
            )
            log.info("telegram: @%s receiving by webhook at %s", self.username, self.config.webhook_url)
        else:
            await self.bot.delete_webhook(drop_pending_updates=False)
            self._poller = asyncio.create_task(core.hold("telegram:poll", self._poll_while_held),
                                               name="telegram-poll")

    async def _publish_commands(self, core: CoreAPI) -> None:
        """Telegram's "/" menu, in each of our languages (by the user's app language) and by default in
        the configured one. A failure only costs the menu, never the start."""
        menus: list[tuple[str | None, list[tuple[str, str]]]] = [
            (code, core.command_menu(code)) for code in SUPPORTED_LOCALES]
        menus.append((None, core.command_menu(core.settings.default_locale)))
        for language, menu in menus:
            commands = [BotCommand(name, description[:256]) for name, description in menu]
            try:
                await self.bot.set_my_commands(commands, language_code=language)
            except TelegramError as exc:
                log.warning("telegram: command menu for %s not set: %s", language or "default", exc)

    async def stop_receiving(self) -> None:
        """Finish the batch being handled and confirm it; sending goes on until ``stop``."""
        self._stopping = True
        if self._poller is not None:
            if self._polling_request or not self._polling_active:
                self._poller.cancel()
            _done, late = await asyncio.wait({self._poller}, timeout=self.config.flush_timeout)
            if late:  # held by a store that is down: what it fetched is unconfirmed and comes back
                self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
            receivers = list(self._receivers.values())
            if receivers:
                _done, slow = await asyncio.wait(receivers, timeout=self.config.flush_timeout)
                for task in slow:  # their updates are journaled (or unconfirmed): they come back
                    task.cancel()
                await asyncio.gather(*slow, return_exceptions=True)
            if self._offset is not None and self._offset != self._confirmed:
                with contextlib.suppress(TelegramError):
                    await self.bot.get_updates(offset=self._offset, timeout=0, limit=1)

    async def stop(self) -> None:
        """Stop receiving (if not done yet) and close. Messages not yet accepted by Telegram are still
        rows in the store: the next holder of the send lease sends them."""
        if not self._stopping:
            await self.stop_receiving()
        await self.queue.flush(self.config.flush_timeout)
        await self.queue.close()
        await self.answers.close(self.config.flush_timeout)
        with contextlib.suppress(TelegramError):
            await self.bot.shutdown()

    # --- roles -------------------------------------------------------------------------------------

    async def platform_role(self, chat: ChatRef, user: UserRef) -> Role | None:
        """Chat administrators (and anonymous admins) are organisers. One getChatAdministrators per group
        per minute answers for everyone — not a getChatMember per new voter, which would cost a round trip
        inside the core's transaction and eat into the rate limits in a busy group."""
        if chat.is_private or chat.platform != PLATFORM:
            return None
        if user.user_id == f"anon:{chat.chat_id}":
            return Role.ORGANISER
        if not user.user_id.lstrip("-").isdigit():
            return None
        chat_id = int(chat.chat_id)
        cached = self._admins.get(chat_id)
        if cached is None or cached[0] <= time.monotonic():
            try:
                admins = await self.bot.get_chat_administrators(chat_id)
            except TelegramError as exc:
                log.warning("telegram: getChatAdministrators(%s) failed: %s", chat_id, exc)
                return None
            ids = frozenset(a.user.id for a in admins
                            if a.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER))
            cached = (time.monotonic() + ROLE_CACHE_SECONDS, ids)
            self._admins[chat_id] = cached
        return Role.ORGANISER if int(user.user_id) in cached[1] else None
