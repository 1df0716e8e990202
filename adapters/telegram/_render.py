"""From platform-neutral replies to Telegram's HTML and inline keyboards."""

from __future__ import annotations

import html
import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.events import Button
from bot.text import shorten, within
from bot.text import split_text as text_split

log = logging.getLogger(__name__)

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_BUTTONS = 100


def escape(text: str) -> str:
    """Everything users wrote is shown as typed: ``<b>&`` must not become markup or break parsing."""
    return html.escape(text, quote=False)


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Plain text in pieces of at most ``limit`` characters (the core's one splitter)."""
    return text_split(text, within(limit))


def truncate(text: str, limit: int) -> str:
    """For edits, captions and pop-ups, which cannot be split into several messages."""
    return shorten(text, within(limit))


def keyboard(buttons: tuple[Button, ...]) -> InlineKeyboardMarkup | None:
    """One button per row: labels of poll options are long and read best stacked."""
    if not buttons:
        return None
    if len(buttons) > MAX_BUTTONS:
        log.warning("telegram: %d buttons, only the first %d can be shown", len(buttons), MAX_BUTTONS)
    rows = [[InlineKeyboardButton(truncate(b.label, 64), url=b.url) if b.url is not None
             else InlineKeyboardButton(truncate(b.label, 64), callback_data=b.payload)]
            for b in buttons[:MAX_BUTTONS]]
    return InlineKeyboardMarkup(rows)
