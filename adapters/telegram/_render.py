"""From platform-neutral replies to Telegram's HTML and inline keyboards."""

from __future__ import annotations

import html
import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.events import Button

log = logging.getLogger(__name__)

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_BUTTONS = 100


def escape(text: str) -> str:
    """Everything users wrote is shown as typed: ``<b>&`` must not become markup or break parsing."""
    return html.escape(text, quote=False)


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Cut plain text into pieces of at most ``limit`` characters: at a line break when there is one in
    the second half of the piece, else at a space, else hard (a single enormous word)."""
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", limit // 2, limit + 1)
        if cut < 0:
            cut = rest.rfind(" ", limit // 2, limit + 1)
        if cut < 0:
            pieces.append(rest[:limit])
            rest = rest[limit:]
            continue
        pieces.append(rest[:cut])
        rest = rest[cut + 1 :]
    if rest.strip() or not pieces:
        pieces.append(rest)
    return pieces


def truncate(text: str, limit: int) -> str:
    """For edits and captions, which cannot be split into several messages."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def keyboard(buttons: tuple[Button, ...]) -> InlineKeyboardMarkup | None:
    """One button per row: labels of poll options are long and read best stacked."""
    if not buttons:
        return None
    if len(buttons) > MAX_BUTTONS:
        log.warning("telegram: %d buttons, only the first %d can be shown", len(buttons), MAX_BUTTONS)
    rows = [[InlineKeyboardButton(truncate(b.label, 64), callback_data=b.payload)] for b in buttons[:MAX_BUTTONS]]
    return InlineKeyboardMarkup(rows)
