"""Sending to Telegram: each message through the rate-limited ``SendQueue``, returning only once Telegram
accepted it (the core's sender forgets a message only then); a Notice answering a button press becomes
the press's pop-up (``_answers.py``), never a chat message (a busy group's 20 messages a minute are for
its members)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import Bot, ForceReply, InputFile, Message, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden

from adapters.telegram._answers import MAX_ANSWER, Answers, current_query
from adapters.telegram._render import MAX_CAPTION, MAX_TEXT, escape, keyboard, split_text, truncate
from adapters.telegram._send_queue import Job, SendQueue
from bot.errors import Undeliverable
from bot.events import ChatRef, Edit, File, Location, Notice, Outgoing, Reply

log = logging.getLogger(__name__)
MAX_VENUE = 256  # a venue's title and address are short lines on Telegram
PHOTO_TYPES = frozenset({"image/png", "image/jpeg", "image/webp"})


class Sending:
    """The sending half of ``TelegramAdapter``."""

    bot: Bot
    queue: SendQueue
    answers: Answers

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
            if query is not None:  # answered in the background: the chat's next update need not wait
                self.answers.answer(query, truncate(message.text, MAX_ANSWER), message.alert)
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
            # A picture is shown as one (a QR code to scan); anything else is a file to open.
            method, field = ("send_photo", "photo") if message.mime_type in PHOTO_TYPES else ("send_document",
                                                                                              "document")
            job = Job(
                self._call(method),
                {"chat_id": chat_id, field: document, "caption": escape(caption) or None,
                 "parse_mode": ParseMode.HTML, **thread},
            )
            sent = await self.queue.submit(chat_id, job)
            return str(sent.message_id) if isinstance(sent, Message) else None
        if isinstance(message, Location):  # a venue when it has a name (Telegram shows it with the pin)
            point = {"chat_id": chat_id, "latitude": message.latitude, "longitude": message.longitude, **thread}
            address = message.address or f"{message.latitude:.5f}, {message.longitude:.5f}"
            job = (Job(self._call("send_venue"), {**point, "title": message.name[:MAX_VENUE],
                                                   "address": address[:MAX_VENUE]})
                   if message.name else Job(self._call("send_location"), point))
            sent = await self.queue.submit(chat_id, job)
            return str(sent.message_id) if isinstance(sent, Message) else None
        text, buttons = message.text, message.buttons
        pieces = split_text(text)
        futures = []
        for index, piece in enumerate(pieces):
            last = index == len(pieces) - 1
            markup = keyboard(buttons) if last else None
            asking = self._asking(chat, message) if last and isinstance(message, Reply) and message.ask else {}
            kwargs = {"chat_id": chat_id, "reply_markup": markup, **thread, **asking}
            job = Job(
                self._call("send_message"),
                {**kwargs, "text": escape(piece), "parse_mode": ParseMode.HTML},
                fallback={**kwargs, "text": piece},
            )
            futures.append(self.queue.submit(chat_id, job))
        results = await asyncio.gather(*futures)
        last = results[-1]
        return str(last.message_id) if isinstance(last, Message) else None

    @staticmethod
    def _asking(chat: ChatRef, message: Reply) -> dict[str, Any]:
        """A dialog's question in a group: with privacy mode on, the person's answer reaches the bot only
        as a reply to it, so it replies to their message and (without buttons to press) opens the reply
        box for them alone: ``selective`` targets the sender of the message replied to."""
        asking: dict[str, Any] = {}
        if message.reply_to is not None and not chat.is_private:
            asking["reply_parameters"] = ReplyParameters(int(message.reply_to), allow_sending_without_reply=True)
            if not message.buttons:
                asking["reply_markup"] = ForceReply(selective=True)
        return asking

    def _call(self, method: str) -> Any:
        bound = getattr(self.bot, method)

        async def call(kwargs: dict[str, Any]) -> Any:
            return await bound(**kwargs)

        return call
