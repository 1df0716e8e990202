"""The Telegram adapter: updates in (long polling or webhook), replies out (through our own ``Outbox``).

Delivery guarantee: Telegram is told an update was received — the polling offset moves past it, or the
webhook answers 2xx — only once ``core.handle`` committed it (exactly once per update_id) or, for a
polling batch held up by one slow chat, once it is journaled in the adapter's state. A crash at any point
means redelivery or replay, and the core's dedup turns a second delivery into "skipped".
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import time
from collections import defaultdict, deque
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web
from telegram import Bot, BotCommand, InputFile, Message
from telegram import Update as TgUpdate
from telegram.constants import ChatMemberStatus, ChatType, MessageEntityType, ParseMode
from telegram.error import Conflict, InvalidToken, NetworkError, TelegramError, TimedOut
from telegram.request import HTTPXRequest

from adapters.telegram._config import TelegramConfig
from adapters.telegram._outbox import Job, Outbox, RateLimits
from adapters.telegram._render import MAX_CAPTION, MAX_TEXT, escape, keyboard, split_text, truncate
from bot.adapter import Adapter, Capabilities, CoreAPI
from bot.errors import StoreUnavailable
from bot.events import (
    ButtonPress,
    ChatRef,
    Command,
    Edit,
    Event,
    File,
    Notice,
    Outgoing,
    Reply,
    Text,
    Update,
    UserRef,
)
from bot.i18n import SUPPORTED_LOCALES, _, match_locale, using_locale
from bot.roles import Role

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)

PLATFORM = "telegram"
ALLOWED_UPDATES = ["message", "callback_query"]
ROLE_CACHE_SECONDS = 60.0
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_ANSWER = 200
INBOX_PREFIX = "inbox:"
# How long a batch may wait for its slowest chat before its unhandled updates are journaled instead.
HOLD_BATCH = 0.25
# Telegram refuses answers to callback queries older than about 15 s; answer early rather than never.
ANSWER_WITHIN = 5.0


@dataclass
class _Query:
    """The callback query being handled in this task: a ``Notice`` becomes its answer."""

    id: str
    answer_by: float
    answered: bool = False


# A ContextVar, not a per-chat dict: webhook deliveries for one chat may be handled concurrently.
_current_query: ContextVar[_Query | None] = ContextVar("telegram_callback_query", default=None)


class TelegramAdapter(Adapter):
    """Telegram through python-telegram-bot's ``Bot`` (unmodified); polling and sending are ours."""

    platform = PLATFORM
    capabilities = Capabilities(buttons=True, edits=True, native_polls=False, markup=True, max_text=MAX_TEXT)
    waits_for_replies = False  # receiving never waits on a rate limit; the core's sender delivers

    def __init__(self, config: TelegramConfig) -> None:
        self.config = config
        self.outbox = Outbox(RateLimits(config.per_chat, config.per_group, config.global_))
        self.bot = Bot(
            config.token,
            base_url=f"{config.api_url}/bot",
            base_file_url=f"{config.api_url}/file/bot",
            request=HTTPXRequest(connection_pool_size=64, read_timeout=20.0, write_timeout=20.0),
            get_updates_request=HTTPXRequest(read_timeout=config.poll_timeout + 10.0),
        )
        self._core: CoreAPI | None = None
        self._poller: asyncio.Task[None] | None = None
        self._polling_request = False
        self._polling_active = False
        self._stopping = False
        self._offset: int | None = None
        self._confirmed: int | None = None
        self._admins: dict[int, tuple[float, frozenset[int]]] = {}
        self._inbox: dict[int, deque[tuple[TgUpdate, float, asyncio.Future[None]]]] = defaultdict(deque)
        self._receivers: dict[int, asyncio.Task[None]] = {}
        self._accepted: set[int] = set()
        self._journaled: dict[int, str] = {}
        self._journal_left: dict[str, int] = {}
        self.handled = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> TelegramAdapter | None:
        config = TelegramConfig.from_source(settings.source, settings.secret)
        return None if config is None else cls(config)

    @property
    def username(self) -> str:
        return self.bot.username

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
        menus = [(code, core.command_menu(code)) for code in SUPPORTED_LOCALES]
        menus.append((None, core.command_menu(core.settings.default_locale)))
        for language, menu in menus:
            commands = [BotCommand(name, description[:256]) for name, description in menu]
            try:
                await self.bot.set_my_commands(commands, language_code=language)
            except TelegramError as exc:
                log.warning("telegram: command menu for %s not set: %s", language or "default", exc)

    async def _poll_while_held(self) -> None:
        """Long polling is single by nature (Telegram answers one getUpdates at a time): only the worker
        holding the lease polls, and it first replays what a previous holder journaled."""
        self._polling_active = True
        try:
            log.info("telegram: @%s receiving by long polling", self.username)
            await self._replay_journal()
            await self._poll()
        finally:
            self._polling_active = False

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
        await self.outbox.flush(self.config.flush_timeout)
        await self.outbox.close()
        with contextlib.suppress(TelegramError):
            await self.bot.shutdown()

    # --- receiving: long polling -------------------------------------------------------------------

    async def _poll(self) -> None:
        """Fetch, hand to the per-chat queues, confirm. A batch is confirmed once it is handled — or, if
        one chat holds it up (a flood wait, a slow store) for longer than ``HOLD_BATCH``, once its
        unhandled updates are journaled in the store: a SIGKILL then replays them from the journal, and
        one throttled chat never stops the others from being heard."""
        backoff = 1.0
        while not self._stopping:
            try:
                self._polling_request = True
                updates = await self.bot.get_updates(
                    offset=self._offset, timeout=self.config.poll_timeout, allowed_updates=ALLOWED_UPDATES
                )
            except InvalidToken:
                log.error("telegram: the token was rejected; polling stopped")
                return
            except (Conflict, TimedOut, NetworkError, TelegramError) as exc:
                log.warning("telegram: getUpdates failed (%s); retrying in %.0fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            finally:
                self._polling_request = False
            backoff = 1.0
            self._confirmed = self._offset
            if not updates:
                continue
            fresh = [u for u in updates if u.update_id not in self._accepted]
            done = self._dispatch(fresh, time.monotonic())
            if done:
                finished, _pending = await asyncio.wait(done, timeout=HOLD_BATCH)
                waiting = [update for future, update in done.items() if future not in finished]
                if waiting and not await self._journal(waiting):
                    await asyncio.wait(done)  # the store is down: hold the offset until handled
            self._offset = updates[-1].update_id + 1

    def _dispatch(self, updates: list[TgUpdate], received: float) -> dict[asyncio.Future[None], TgUpdate]:
        """Queue updates on their chat's worker (one chat in order, chats concurrently)."""
        done: dict[asyncio.Future[None], TgUpdate] = {}
        loop = asyncio.get_running_loop()
        for update in updates:
            future: asyncio.Future[None] = loop.create_future()
            done[future] = update
            self._accepted.add(update.update_id)
            chat = update.effective_chat
            chat_id = chat.id if chat else 0
            self._inbox[chat_id].append((update, received, future))
            if chat_id not in self._receivers:
                self._receivers[chat_id] = asyncio.create_task(self._receive(chat_id))
        return done

    async def _receive(self, chat_id: int) -> None:
        queue = self._inbox[chat_id]
        try:
            while queue:
                update, received, future = queue[0]
                delay = 0.5
                while not await self._process(update, received):
                    await asyncio.sleep(delay)  # store unavailable: this chat waits, the others go on
                    delay = min(delay * 2, 30.0)
                queue.popleft()
                self._accepted.discard(update.update_id)
                if not future.done():
                    future.set_result(None)
                await self._unjournal(update.update_id)
        finally:
            del self._receivers[chat_id]
            if not queue:
                self._inbox.pop(chat_id, None)

    async def _journal(self, updates: list[TgUpdate]) -> bool:
        """Keep updates that are taking long in the store, so they can be confirmed to Telegram."""
        state = getattr(self._core, "state", None)
        if state is None:
            return False
        key = f"{INBOX_PREFIX}{updates[0].update_id}"
        try:
            await state.set(PLATFORM, key, json.dumps([u.to_dict() for u in updates]))
        except Exception as exc:
            log.warning("telegram: could not journal %d slow update(s): %s", len(updates), exc)
            return False
        for update in updates:
            self._journaled[update.update_id] = key
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

    # --- receiving: webhook ------------------------------------------------------------------------

    async def _webhook(self, request: web.Request) -> web.Response:
        """401 without the secret header, 403 with a wrong one; 200 only once the update is committed."""
        given = request.headers.get(SECRET_HEADER)
        if given is None:
            return web.Response(status=401)
        if not hmac.compare_digest(given.encode(), self.config.webhook_secret.encode()):
            return web.Response(status=403)
        try:
            update = TgUpdate.de_json(await request.json(), self.bot)
        except (ValueError, TypeError, KeyError):
            return web.Response(status=400)
        if not await self._process(update):
            return web.Response(status=503)  # Telegram will deliver it again
        return web.Response(status=200)

    # --- translating and handling ------------------------------------------------------------------

    async def _process(self, tg: TgUpdate, received: float | None = None) -> bool:
        """Hand one update to the core. False only when it must be delivered again (store down)."""
        assert self._core is not None
        received = time.monotonic() if received is None else received
        query = None
        if tg.callback_query is not None:
            query = _Query(tg.callback_query.id, received + ANSWER_WITHIN)
        token = _current_query.set(query)
        try:
            return await self._handle(tg, query)
        finally:
            _current_query.reset(token)

    async def _handle(self, tg: TgUpdate, query: _Query | None) -> bool:
        assert self._core is not None
        if query is not None and time.monotonic() > query.answer_by:
            # Queued behind a burst: stop the spinner now; the live tally shows the vote anyway.
            await self._answer(query, None, False, None)
        error = False
        try:
            update = self.translate(tg)
        except Exception:
            log.exception("telegram: update %s could not be read; skipped", tg.update_id)
            update, error = None, True
        if update is not None:
            try:
                await self._handle_retrying(update)
                self.handled += 1
            except StoreUnavailable as exc:
                log.warning("telegram: update %s not handled, store unavailable: %s", tg.update_id, exc)
                return False
            except Exception:
                log.exception("telegram: update %s failed; skipped", tg.update_id)
                error = True
        if query is not None and not query.answered:
            await self._answer(query, None, error, update.user.language if update else None)
        return True

    async def _handle_retrying(self, update: Update) -> None:
        """A busy store (SQLite "database is locked") usually clears within milliseconds: retry the one
        update in place rather than refetching the whole batch; give up after ~3 s and let it come back."""
        assert self._core is not None
        delay = 0.02
        for _attempt in range(8):
            try:
                await self._core.handle(update)
                return
            except StoreUnavailable:
                await asyncio.sleep(delay)
                delay *= 2
        await self._core.handle(update)

    async def _answer(self, query: _Query, text: str | None, error: bool, language: str | None,
                      alert: bool = False) -> None:
        """Every callback query is answered, or the user's client shows a spinner for a long while."""
        query.answered = True
        query_id = query.id
        if error:
            default = self._core.settings.default_locale if self._core else "en"
            with using_locale(match_locale(language) or default):
                text = _("Sorry, that did not work. Please try again later.")
        try:
            await self.bot.answer_callback_query(query_id, text=text, show_alert=error or alert)
        except TelegramError as exc:  # too old, already answered: nothing left to do
            log.debug("telegram: could not answer callback %s: %s", query_id, exc)

    def translate(self, tg: TgUpdate) -> Update | None:
        """A core ``Update`` for what the core understands, None for everything else."""
        event: Event
        if tg.callback_query is not None:
            query = tg.callback_query
            if query.data is None or query.message is None:
                return None
            chat = query.message.chat
            thread = getattr(query.message, "message_thread_id", None)
            sender = query.from_user
            user = UserRef(PLATFORM, str(sender.id), sender.full_name, sender.language_code)
            event = ButtonPress(query.data)
            is_topic = bool(getattr(query.message, "is_topic_message", False))
        elif tg.message is not None and tg.message.text is not None:
            message = tg.message
            chat = message.chat
            thread = message.message_thread_id
            is_topic = bool(message.is_topic_message)
            command = self._command(message)
            if command is False:
                return None
            event = command if isinstance(command, Command) else Text(message.text or "")
            user = self._sender(message)
            if user is None:
                return None
        else:
            return None
        chat_ref = ChatRef(
            platform=PLATFORM,
            chat_id=str(chat.id),
            thread_id=str(thread) if thread is not None and is_topic else None,
            title=chat.title or chat.full_name,
            is_private=chat.type == ChatType.PRIVATE,
        )
        return Update(update_id=str(tg.update_id), chat=chat_ref, user=user, event=event)

    def _command(self, message: Message) -> Command | bool | None:
        """A ``Command``; None for plain text; False for a command addressed to another bot."""
        entity = message.entities[0] if message.entities else None
        if entity is None or entity.type != MessageEntityType.BOT_COMMAND or entity.offset != 0:
            return None
        text = message.text or ""
        head = text[: entity.length]
        name, _at, target = head[1:].partition("@")
        if target and target.lower() != (self.username or "").lower():
            return False
        return Command(name.lower(), text[entity.length :].strip())

    @staticmethod
    def _sender(message: Message) -> UserRef | None:
        """Anonymous group admins write "as the group" (sender_chat is the chat itself): they get a
        per-chat identity, which ``platform_role`` recognises as an organiser."""
        if message.sender_chat is not None:
            sender = message.sender_chat
            prefix = "anon" if sender.id == message.chat.id else "chat"
            return UserRef(PLATFORM, f"{prefix}:{sender.id}", sender.title or sender.full_name or "?")
        if message.from_user is None:
            return None
        user = message.from_user
        return UserRef(PLATFORM, str(user.id), user.full_name, user.language_code)

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

    # --- sending -----------------------------------------------------------------------------------

    async def send(self, chat: ChatRef, message: Outgoing) -> str | None:
        """Show ``message`` through the rate-limited queue; return once Telegram accepted it (the core
        forgets a message only then). A Notice for a button press becomes its pop-up instead."""
        return await self._send(chat, message)

    async def _send(self, chat: ChatRef, message: Outgoing) -> str | None:
        chat_id = int(chat.chat_id)
        thread = {"message_thread_id": int(chat.thread_id)} if chat.thread_id else {}
        if isinstance(message, Notice):
            query = _current_query.get()
            if query is not None:
                if not query.answered:
                    await self._answer(query, truncate(message.text, MAX_ANSWER), False, None, message.alert)
                return None  # never a chat message for a button press: it would flood busy groups
            message = Reply(message.text)
        if isinstance(message, Edit) and message.message_id is not None:
            text = truncate(message.text, MAX_TEXT)
            markup = keyboard(message.buttons)
            kwargs = {"chat_id": chat_id, "message_id": int(message.message_id), "reply_markup": markup}
            job = Job(
                self._call("edit_message_text"),
                {**kwargs, "text": escape(text), "parse_mode": ParseMode.HTML},
                method="edit_message_text",
                edit_of=int(message.message_id),
                fallback={**kwargs, "text": text},
            )
            await self.outbox.submit(chat_id, job)
            return message.message_id
        if isinstance(message, File):
            caption = truncate(message.caption, MAX_CAPTION)
            document = InputFile(message.content, filename=message.filename)
            job = Job(
                self._call("send_document"),
                {"chat_id": chat_id, "document": document, "caption": escape(caption) or None,
                 "parse_mode": ParseMode.HTML, **thread},
                method="send_document",
            )
            sent = await self.outbox.submit(chat_id, job)
            return str(sent.message_id) if isinstance(sent, Message) else None
        text, buttons = message.text, message.buttons
        pieces = split_text(text)
        futures = []
        for index, piece in enumerate(pieces):
            markup = keyboard(buttons) if index == len(pieces) - 1 else None
            kwargs = {"chat_id": chat_id, "reply_markup": markup, **thread}
            job = Job(
                self._call("send_message"),
                {**kwargs, "text": escape(piece), "parse_mode": ParseMode.HTML},
                method="send_message",
                fallback={**kwargs, "text": piece},
            )
            futures.append(self.outbox.submit(chat_id, job))
        results = await asyncio.gather(*futures)
        last = results[-1]
        return str(last.message_id) if isinstance(last, Message) else None

    def _call(self, method: str) -> Any:
        bound = getattr(self.bot, method)

        async def call(kwargs: dict[str, Any]) -> Any:
            return await bound(**kwargs)

        return call
