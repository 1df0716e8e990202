"""Answering button presses: every callback query is answered exactly once, and never on the chat's path.

A chat's updates are handled one at a time, in order. Were each to wait for its ``answerCallbackQuery``,
one group's votes would land one round trip to Telegram apart (about 0.1 s from a real server: ten votes
a second, however fast the store). So an answer is a task of its own, started as soon as the core has
committed the press (its ``Notice`` is the text) and retried while Telegram still accepts it. A press
that a burst or a slow store keeps queued is answered, without text, ``ANSWER_WITHIN`` after it arrived,
wherever it is in its queue: its spinner stops, and the live tally shows the vote when it lands.
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextvars import ContextVar
from dataclasses import dataclass

from telegram import Bot
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError

from adapters.telegram._send_queue import retry_after_seconds
from bot.backoff import Backoff
from bot.i18n import _, match_locale, using_locale

log = logging.getLogger(__name__)
MAX_ANSWER = 200
# Telegram refuses answers to callback queries older than about 15 s: answer early rather than never, and
# stop retrying a little before that.
ANSWER_WITHIN = 5.0
TELEGRAM_DEADLINE = 14.0
# Answers in flight at once: enough for a burst at a real server's round trip (64 / 0.1 s), while the
# rest of the adapter's connections stay free for messages and getChatAdministrators.
ANSWERS_IN_FLIGHT = 64


@dataclass(eq=False)
class Query:
    """A callback query being handled: a ``Notice`` for it becomes its answer."""

    id: str
    received: float
    answered: bool = False
    timer: asyncio.TimerHandle | None = None


# A ContextVar, not a per-chat dict: webhook deliveries for one chat may be handled concurrently.
current_query: ContextVar[Query | None] = ContextVar("telegram_callback_query", default=None)


class Answers:
    """Sends each query's one answer in the background, at most ``ANSWERS_IN_FLIGHT`` at a time."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot
        self._slots = asyncio.Semaphore(ANSWERS_IN_FLIGHT)
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    def watch(self, query_id: str, received: float) -> Query:
        """The query of a press that arrived at ``received`` (monotonic), answered without text if it is
        still unanswered ``ANSWER_WITHIN`` later."""
        query = Query(query_id, received)
        delay = max(0.0, received + ANSWER_WITHIN - time.monotonic())
        query.timer = asyncio.get_running_loop().call_later(delay, self.answer, query, None)
        return query

    def answer(self, query: Query, text: str | None, alert: bool = False) -> None:
        """Answer ``query`` unless it was answered already (the first answer wins); returns at once."""
        if query.answered or self._closed:
            return
        query.answered = True
        if query.timer is not None:
            query.timer.cancel()
            query.timer = None
        task = asyncio.create_task(self._send(query, text, alert), name=f"telegram-answer-{query.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def fail(self, query: Query, language: str | None, default_locale: str) -> None:
        """The press could not be handled: say so in an alert, in the presser's language."""
        with using_locale(match_locale(language) or default_locale):
            text = _("Sorry, that did not work. Please try again later.")
        self.answer(query, text, alert=True)

    async def _send(self, query: Query, text: str | None, alert: bool) -> None:
        backoff = Backoff(first=0.2, cap=2.0)
        while True:
            try:
                async with self._slots:
                    await self._bot.answer_callback_query(query.id, text=text, show_alert=alert)
                return
            except RetryAfter as exc:
                delay = retry_after_seconds(exc)
            except BadRequest as exc:  # too old, or answered by an attempt whose answer we missed
                log.debug("telegram: could not answer callback %s: %s", query.id, exc)
                return
            except NetworkError:  # TimedOut too: try again while Telegram would still take it
                delay = backoff.next()
            except TelegramError as exc:
                log.debug("telegram: could not answer callback %s: %s", query.id, exc)
                return
            if time.monotonic() + delay > query.received + TELEGRAM_DEADLINE:
                log.info("telegram: callback %s not answered before Telegram's deadline", query.id)
                return
            await asyncio.sleep(delay)

    async def close(self, within: float) -> None:
        """Wait (up to ``within`` seconds) for the answers in flight; answer nothing after this."""
        self._closed = True
        if self._tasks:
            _done, late = await asyncio.wait(set(self._tasks), timeout=within)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
