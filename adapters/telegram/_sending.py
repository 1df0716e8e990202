"""Sending to Telegram: each message through the rate-limited ``SendQueue``, returning only once Telegram
accepted it (the core's sender forgets a message only then); a Notice answering a button press becomes
the press's pop-up, never a chat message (a busy group's 20 messages a minute are for its members)."""

from __future__ import annotations

import asyncio
import logging
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from telegram import Bot, InputFile, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError

from adapters.telegram._render import MAX_CAPTION, MAX_TEXT, escape, keyboard, split_text, truncate
from adapters.telegram._send_queue import Job, SendQueue
from bot.adapter import CoreAPI
from bot.errors import Undeliverable
from bot.events import ChatRef, Edit, File, Notice, Outgoing, Reply
from bot.i18n import _, match_locale, using_locale

log = logging.getLogger(__name__)
MAX_ANSWER = 200
# Telegram refuses answers to callback queries older than about 15 s; answer early rather than never.
ANSWER_WITHIN = 5.0


@dataclass
class Query:
    """The callback query being handled in this task: a ``Notice`` becomes its answer."""

    id: str
    answer_by: float
    answered: bool = False


# A ContextVar, not a per-chat dict: webhook deliveries for one chat may be handled concurrently.
current_query: ContextVar[Query | None] = ContextVar("telegram_callback_query", default=None)


async def answer(bot: Bot, core: CoreAPI | None, query: Query, text: str | None, error: bool,
                 language: str | None, alert: bool = False) -> None:
    """Every callback query is answered, or the user's client shows a spinner for a long while."""
    query.answered = True
    if error:
        default = core.settings.default_locale if core else "en"
        with using_locale(match_locale(language) or default):
            text = _("Sorry, that did not work. Please try again later.")
    try:
        await bot.answer_callback_query(query.id, text=text, show_alert=error or alert)
    except TelegramError as exc:  # too old, already answered: nothing left to do
        log.debug("telegram: could not answer callback %s: %s", query.id, exc)


class Sending:
    """The sending half of ``TelegramAdapter``."""

    bot: Bot
    queue: SendQueue
    _core: CoreAPI | None

    async def send(self, chat: ChatRef, message: Outgoing) -> str | None:
        """Show ``message``; return once Telegram accepted it. Raise ``Undeliverable`` when Telegram
        refused it for good (a chat that blocked the bot, a message it rejects)."""
        try:
            return await self._send(chat, message)
        except (BadRequest, Forbidden) as exc:
            raise Undeliverable(exc.message) from exc

    async def _send(self, chat: ChatRef, message: Outgoing) -> str | None:
        chat_id = int(chat.chat_id)
        thread = {"message_thread_id": int(chat.thread_id)} if chat.thread_id else {}
        if isinstance(message, Notice):
            query = current_query.get()
            if query is not None:
                if not query.answered:
                    text = truncate(message.text, MAX_ANSWER)
                    await answer(self.bot, self._core, query, text, False, None, message.alert)
                return None  # never a chat message for a button press: it would flood busy groups
            message = Reply(message.text)
        if isinstance(message, Edit) and message.message_id is not None:
            text = truncate(message.text, MAX_TEXT)
            markup = keyboard(message.buttons)
            kwargs = {"chat_id": chat_id, "message_id": int(message.message_id), "reply_markup": markup}
            job = Job(
                self._call("edit_message_text"),
                {**kwargs, "text": escape(text), "parse_mode": ParseMode.HTML},
                fallback={**kwargs, "text": text},
            )
            await self.queue.submit(chat_id, job)
            return message.message_id
        if isinstance(message, File):
            caption = truncate(message.caption, MAX_CAPTION)
            document = InputFile(message.content, filename=message.filename)
            job = Job(
                self._call("send_document"),
                {"chat_id": chat_id, "document": document, "caption": escape(caption) or None,
                 "parse_mode": ParseMode.HTML, **thread},
            )
            sent = await self.queue.submit(chat_id, job)
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
                fallback={**kwargs, "text": piece},
            )
            futures.append(self.queue.submit(chat_id, job))
        results = await asyncio.gather(*futures)
        last = results[-1]
        return str(last.message_id) if isinstance(last, Message) else None

    def _call(self, method: str) -> Any:
        bound = getattr(self.bot, method)

        async def call(kwargs: dict[str, Any]) -> Any:
            return await bound(**kwargs)

        return call
