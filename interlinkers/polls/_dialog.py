"""``/poll`` alone: the question, then the options, then the settings, one message each, with buttons
for the common settings. Every adapter can send each answer (no "one per line": the console cannot)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.context import Context
from bot.errors import UserError
from bot.i18n import _
from bot.interlinker import button, dialog
from bot.words import is_skip
from interlinkers.polls._parsing import (
    MAX_OPTIONS,
    MIN_OPTIONS,
    PollDraft,
    check_options,
    check_question,
    draft,
    parse_settings,
)
from interlinkers.polls._shared import NAME


class CreateDialog:
    """Mixed into ``Polls``; uses its ``create``."""

    async def create(self, ctx: Context, draft: PollDraft) -> None:
        raise NotImplementedError

    async def start_create(self, ctx: Context) -> None:
        await ctx.start_dialog(NAME, "create", "question", {})
        ctx.ask(_("What is the question of the poll? (Send /cancel to stop.)"))

    @dialog("create")
    async def create_dialog(self, ctx: Context, text: str, step: str, data: dict[str, Any]) -> None:
        if step == "question":
            await ctx.start_dialog(NAME, "create", "options", {"question": check_question(text)})
            ctx.ask(_("Now send the options separated by |, for example: Library | Park | Community centre "
                        "(from {minimum} to {maximum}).").format(minimum=MIN_OPTIONS, maximum=MAX_OPTIONS))
            return
        if step == "options":
            options = check_options([o for o in text.split("|") if o.strip()] or [""])
            await ctx.start_dialog(NAME, "create", "settings", {**data, "options": list(options)})
            self._ask_settings(ctx)
            return
        if is_skip(text):
            settings: dict[str, Any] = {}
        else:
            settings = parse_settings(text, ctx.tz)
        await self._finish(ctx, data, settings)

    def _ask_settings(self, ctx: Context) -> None:
        ctx.ask(
            _("Last step: settings, if you want any, separated by |: closes in 2 hours · anonymous · hidden · "
              "quorum 5 · multiple 2 · ranked · score · dots 5 · add options. Or press a button; “no” creates the "
              "poll as it is."),
            (ctx.button(_("Create the poll"), NAME, "d", "go"),
             ctx.button(_("Create it anonymous"), NAME, "d", "anonymous"),
             ctx.button(_("Create it, closing in 1 day"), NAME, "d", "day")),
        )

    @button("d")
    async def dialog_button(self, ctx: Context, action: str) -> None:
        row = await ctx.current_dialog()
        if row is None or row.interlinker != NAME or row.step != "settings":
            raise UserError(_("This button is not valid any more. Send /help to start again."))
        settings: dict[str, Any] = {}
        if action == "anonymous":
            settings["anonymous"] = True
        elif action == "day":
            settings["closes_at"] = datetime.now().astimezone() + timedelta(days=1)
        await self._finish(ctx, dict(row.data), settings)

    async def _finish(self, ctx: Context, data: dict[str, Any], settings: dict[str, Any]) -> None:
        poll = draft(str(data["question"]), list(data["options"]), settings)
        await ctx.end_dialog()
        await self.create(ctx, poll)
