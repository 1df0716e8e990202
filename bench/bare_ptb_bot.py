"""Baseline B of ``bench/startup_bench.py``: the least a python-telegram-bot bot does for a poll button.

An ``Application`` with one ``CallbackQueryHandler`` that answers the query and edits its message, long
polling the Bot API server at ``API_URL``. No store, no HTTP server, no translations.

Run: ``.venv/bin/python bench/bare_ptb_bot.py API_URL TOKEN`` (stops on SIGTERM or SIGINT).
"""

from __future__ import annotations

import sys

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes


async def answer_and_edit(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer()
    await query.edit_message_text(f"Vote counted: {query.data}")


def main() -> None:
    api_url, token = sys.argv[1], sys.argv[2]
    app = Application.builder().token(token).base_url(f"{api_url}/bot").base_file_url(f"{api_url}/file/bot").build()
    app.add_handler(CallbackQueryHandler(answer_and_edit))
    app.run_polling(poll_interval=0, timeout=25)


if __name__ == "__main__":
    main()
