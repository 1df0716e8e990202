"""``/shift`` alone: one question per message (title, day and hours, places, place, role), each answer
checked at once by the same parser as the one-line command; a shared location answers the place."""

from __future__ import annotations

from typing import Any

from bot.context import Context
from bot.errors import UserError
from bot.i18n import _
from bot.interlinker import button, dialog
from bot.words import is_skip
from interlinkers.volunteers._parsing import check_title, parse_shift
from interlinkers.volunteers._shared import NAME
from interlinkers.volunteers._swaps import Swaps

_EXAMPLE_DAY = "2026-12-05 09:00-12:00"


def _one(text: str) -> str:
    """One part of the one-line form: a "|" typed in it is text, not a separator."""
    return text.replace("|", "/")


class ShiftDialog(Swaps):
    async def ask_shift(self, ctx: Context) -> None:
        await ctx.start_dialog(NAME, "shift", "title", {})
        ctx.ask(_("What is the shift? Send its title, for example: Food bank. (Send /cancel to stop.)"))

    @dialog("shift")
    async def shift_dialog(self, ctx: Context, text: str, step: str, data: dict[str, Any]) -> None:
        if step == "title":
            title = check_title(_one(text))
            await ctx.start_dialog(NAME, "shift", "when", {"title": title})
            ctx.ask(_("When? The day and the hours, for example: {example}. Several: 09:00-12:00, 14:00-17:00; "
                      "a repetition: every Saturday 09:00-12:00 until March.").format(example=_EXAMPLE_DAY))
            return
        if step == "when":
            parse_shift(f"{data['title']} | {_one(text)} | 1", ctx.tz)
            await ctx.start_dialog(NAME, "shift", "places", {**data, "when": _one(text)})
            ctx.ask(_("How many volunteers are needed? Send a number, for example: 6"))
            return
        if step == "places":
            parse_shift(f"{data['title']} | {data['when']} | {_one(text)}", ctx.tz)
            await ctx.start_dialog(NAME, "shift", "place", {**data, "places": _one(text)})
            ctx.ask(_("Where? Write the place, or share a location to show it on the map. Send “no” if there is no "
                      "place."), (ctx.button(_("No place"), NAME, "d", "noplace"),))
            return
        if step == "place":
            place = "" if is_skip(text) else _one(text)
            parse_shift(f"{data['title']} | {data['when']} | {data['places']} | {place}", ctx.tz)
            await self._ask_role(ctx, {**data, "place": place})
            return
        await self._finish_shift(ctx, data, "" if is_skip(text) else _one(text))

    async def _ask_role(self, ctx: Context, data: dict[str, Any]) -> None:
        await ctx.start_dialog(NAME, "shift", "role", data)
        ctx.ask(_("Last step, if you want: a role for the volunteers, for example: driver. Or press the button; "
                  "“no” plans the shift without one."), (ctx.button(_("Plan the shift"), NAME, "d", "plan"),))

    async def _finish_shift(self, ctx: Context, data: dict[str, Any], role: str) -> None:
        draft = parse_shift(f"{data['title']} | {data['when']} | {data['places']} | {data['place']} | {role}", ctx.tz)
        await ctx.end_dialog()
        await self.create_shifts(ctx, draft)

    @button("d")
    async def dialog_button(self, ctx: Context, action: str) -> None:
        row = await ctx.current_dialog()
        expected = {"noplace": "place", "plan": "role"}
        if row is None or row.interlinker != NAME or row.step != expected.get(action):
            raise UserError(_("This button is not valid any more. Send /help to start again."))
        data = dict(row.data)
        if action == "noplace":
            await self._ask_role(ctx, {**data, "place": ""})
        else:
            await self._finish_shift(ctx, data, "")
