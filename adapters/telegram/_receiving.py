"""Receiving from Telegram: long polling (under a lease) or webhook, one queue per chat, and turning
Telegram updates into the core's ``Update``s.

Telegram is told an update was received — the polling offset moves past it, or the webhook answers 2xx —
only once ``core.handle`` committed it (exactly once per update_id) or, for a polling batch that one chat
holds up for longer than ``HOLD_BATCH``, once its unhandled updates are journaled (``_journal.py``). A
crash at any point means redelivery or replay, and the core's dedup turns a second delivery into
"skipped". Handling never waits for sending (the core's sender delivers the replies), nor for the answer to
a button press (``_answers.py``).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections import deque
from dataclasses import replace
from typing import Any, cast

from aiohttp import web
from telegram import Bot, Message
from telegram import Update as TgUpdate
from telegram.constants import ChatType, MessageEntityType
from telegram.error import Conflict, InvalidToken, NetworkError, TelegramError, TimedOut
from telegram.request import BaseRequest, RequestData
from telegram.request._requestparameter import RequestParameter

from adapters.telegram._answers import Answers, Query, current_query
from adapters.telegram._config import TelegramConfig
from adapters.telegram._journal import PLATFORM, Journaling
from bot.adapter import CoreAPI
from bot.backoff import Backoff
from bot.errors import StoreUnavailable
from bot.events import ButtonPress, ChatRef, Command, Event, Location, Photo, Text, Update, UserRef
from bot.photos import too_big

log = logging.getLogger(__name__)
ALLOWED_UPDATES = ["message", "callback_query"]
JSONDict = dict[str, Any]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# How long a batch may wait for its slowest chat before its unhandled updates are journaled instead.
HOLD_BATCH = 0.25
# Telegram answers getUpdates within its ``timeout``; beyond this margin the connection is presumed lost.
POLL_READ_MARGIN = 10.0


class Receiving(Journaling):
    """The receiving half of ``TelegramAdapter``."""

    bot: Bot
    config: TelegramConfig
    _core: CoreAPI | None
    _stopping: bool
    _polling_request: bool
    _polling_active: bool
    _offset: int | None
    _confirmed: int | None
    answers: Answers
    _updates_request: BaseRequest
    _inbox: dict[int, deque[tuple[TgUpdate, Query | None, asyncio.Future[None]]]]
    _receivers: dict[int, asyncio.Task[None]]
    _accepted: set[int]
    handled: int

    @property
    def username(self) -> str:
        return self.bot.username

    # --- long polling ------------------------------------------------------------------------------

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

    async def _poll(self) -> None:
        """Fetch, hand to the per-chat queues, confirm. A batch is confirmed once it is handled — or, if
        one chat holds it up (a flood wait, a slow store, a burst of votes) for longer than
        ``HOLD_BATCH``, once its unhandled updates are journaled in the store: a SIGKILL then replays
        them from the journal, and one busy chat never stops the others from being heard."""
        backoff = Backoff(first=1.0, cap=30.0)
        while not self._stopping:
            try:
                self._polling_request = True
                batch = await self._get_updates()
            except InvalidToken:
                log.error("telegram: the token was rejected; polling stopped")
                return
            except (Conflict, TimedOut, NetworkError, TelegramError) as exc:
                delay = backoff.next()
                log.warning("telegram: getUpdates failed (%s); retrying in %.0fs", exc, delay)
                await asyncio.sleep(delay)
                continue
            finally:
                self._polling_request = False
            backoff.reset()
            self._confirmed = self._offset
            if not batch:
                continue
            fresh = {item["update_id"]: item for item in batch if item["update_id"] not in self._accepted}
            done = self._dispatch([TgUpdate.de_json(item, self.bot) for item in fresh.values()], time.monotonic())
            if done:
                finished, _pending = await asyncio.wait(done, timeout=HOLD_BATCH)
                waiting = [fresh[update.update_id] for future, update in done.items() if future not in finished]
                if waiting and not await self._journal(waiting):
                    await asyncio.wait(done)  # the store is down: hold the offset until handled
            self._offset = batch[-1]["update_id"] + 1

    async def _get_updates(self) -> list[JSONDict]:
        """getUpdates as Telegram's JSON (PTB's request, errors and all), each update parsed by PTB
        afterwards: what a busy chat holds up is journaled as it came, not rebuilt from PTB's objects,
        which would cost more than the adapter's whole share of a vote."""
        params = {"timeout": self.config.poll_timeout, "allowed_updates": ALLOWED_UPDATES}
        if self._offset is not None:
            params["offset"] = self._offset
        data = RequestData([RequestParameter.from_input(key, value) for key, value in params.items()])
        result = await self._updates_request.post(f"{self.bot.base_url}/getUpdates", data,
                                                  read_timeout=self.config.poll_timeout + POLL_READ_MARGIN)
        return cast("list[JSONDict]", result)

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
            self._inbox[chat_id].append((update, self._query(update, received), future))
            if chat_id not in self._receivers:
                self._receivers[chat_id] = asyncio.create_task(self._receive(chat_id))
        return done

    async def _receive(self, chat_id: int) -> None:
        queue = self._inbox[chat_id]
        try:
            while queue:
                update, query, future = queue[0]
                backoff = Backoff()
                while not await self._process(update, query):
                    await backoff.sleep()  # store unavailable: this chat waits, the others go on
                queue.popleft()
                self._accepted.discard(update.update_id)
                if not future.done():
                    future.set_result(None)
                await self._unjournal(update.update_id)
        finally:
            del self._receivers[chat_id]
            if not queue:
                self._inbox.pop(chat_id, None)

    # --- webhook -----------------------------------------------------------------------------------

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
        if not await self._process(update, self._query(update, time.monotonic())):
            return web.Response(status=503)  # Telegram will deliver it again
        return web.Response(status=200)

    # --- translating and handling ------------------------------------------------------------------

    def _query(self, tg: TgUpdate, received: float) -> Query | None:
        """A press's query, answered in time however long its update waits (see ``_answers.py``)."""
        if tg.callback_query is None:
            return None
        return self.answers.watch(tg.callback_query.id, received)

    async def _process(self, tg: TgUpdate, query: Query | None) -> bool:
        """Hand one update to the core. False only when it must be delivered again (store down)."""
        token = current_query.set(query)
        try:
            return await self._handle(tg, query)
        finally:
            current_query.reset(token)

    async def _handle(self, tg: TgUpdate, query: Query | None) -> bool:
        assert self._core is not None
        error = False
        try:
            update = self.translate(tg)
        except Exception:
            log.exception("telegram: update %s could not be read; skipped", tg.update_id)
            update, error = None, True
        if update is not None:
            try:
                await self._handle_retrying(await self.fetch_picture(update))
                self.handled += 1
            except StoreUnavailable as exc:
                log.warning("telegram: update %s not handled, store unavailable: %s", tg.update_id, exc)
                return False
            except Exception:
                log.exception("telegram: update %s failed; skipped", tg.update_id)
                error = True
        if query is not None and error:
            self.answers.fail(query, update.user.language if update else None, self._core.settings.default_locale)
        elif query is not None:
            self.answers.answer(query, None)  # no Notice from the core: just stop the spinner
        return True

    async def _handle_retrying(self, update: Update) -> None:
        """A busy store (SQLite "database is locked") usually clears within milliseconds: retry the one
        update in place rather than refetching the whole batch; give up after ~3 s and let it come back."""
        assert self._core is not None
        backoff = Backoff(first=0.02, cap=1.5)
        for _attempt in range(8):
            try:
                await self._core.handle(update)
                return
            except StoreUnavailable:
                await backoff.sleep()
        await self._core.handle(update)

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
            author = self._sender(message)
            if author is None:
                return None
            user = author
        elif tg.message is not None and (picture := self._picture(tg.message)) is not None:
            message = tg.message
            chat, thread, is_topic = message.chat, message.message_thread_id, bool(message.is_topic_message)
            author = self._sender(message)
            if author is None:
                return None
            user, event = author, picture
        elif tg.message is not None and tg.message.location is not None:
            message = tg.message
            chat, thread, is_topic = message.chat, message.message_thread_id, bool(message.is_topic_message)
            author = self._sender(message)
            if author is None:
                return None
            user = author
            point, venue = tg.message.location, message.venue
            event = Location(point.latitude, point.longitude, venue.title if venue else "",
                             venue.address if venue else "")
        else:
            return None
        chat_ref = ChatRef(
            platform=PLATFORM,
            chat_id=str(chat.id),
            thread_id=str(thread) if thread is not None and is_topic else None,
            title=chat.title or chat.full_name,
            is_private=chat.type == ChatType.PRIVATE,
        )
        message_id = tg.message.message_id if tg.message is not None else None
        return Update(update_id=str(tg.update_id), chat=chat_ref, user=user, event=event,
                      message_id=str(message_id) if message_id is not None else None)

    @staticmethod
    def _picture(message: Message) -> Photo | None:
        """A photo (its largest size) or a picture sent as a file; downloaded later (``fetch_picture``)."""
        if message.photo:
            best = message.photo[-1]
            return Photo(b"", "image/jpeg", message.caption or "", best.file_size, best.file_id)
        document = message.document
        if document is not None and (document.mime_type or "").startswith("image/"):
            return Photo(b"", document.mime_type or "", message.caption or "", document.file_size, document.file_id)
        return None

    async def fetch_picture(self, update: Update) -> Update:
        """The picture's bytes, unless it is larger than the core accepts (it then says so)."""
        event = update.event
        if not isinstance(event, Photo) or event.content or too_big(event.size):
            return update
        try:
            file = await self.bot.get_file(event.ref)
            if too_big(file.file_size):
                return update
            content = bytes(await file.download_as_bytearray())
        except TelegramError as exc:  # the core tells the person to send it again
            log.warning("telegram: could not download a picture: %s", exc)
            return update
        return replace(update, event=replace(event, content=content, size=len(content)))

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
