"""``/meet`` and ``/event`` alone: one question per message, each answer checked as soon as it arrives
(by the same parser as the one-line command, so both accept exactly the same), with buttons for the
optional steps. The place step takes a shared location too, which becomes the event's pin."""

from __future__ import annotations

from typing import Any

from bot.context import Context
from bot.errors import UserError
from bot.i18n import _
from bot.interlinker import button, dialog
from bot.words import is_skip
from interlinkers.scheduling._meets import Meets
from interlinkers.scheduling._parsing import check_title, parse_event, parse_meet
from interlinkers.scheduling._shared import NAME


def _line(*parts: str) -> str:
    """The one-line form of what was answered so far."""
    return " | ".join(part for part in parts if part)


def _one(text: str) -> str:
    """An answer that is one part (a title, a place): a "|" in it is text, not a separator."""
    return text.replace("|", "/")


class Dialogs(Meets):
    """The step-by-step forms of ``/meet`` and ``/event``, ending in ``create_meet`` and ``plan_event``."""

    # --- /meet ---------------------------------------------------------------------------------------

    async def ask_meet(self, ctx: Context) -> None:
        await ctx.start_dialog(NAME, "meet", "title", {})
        ctx.ask(_("What is the meeting about? Send its title. (Send /cancel to stop.)"))

    @dialog("meet")
    async def meet_dialog(self, ctx: Context, text: str, step: str, data: dict[str, Any]) -> None:
        if step == "title":
            await ctx.start_dialog(NAME, "meet", "times", {"title": check_title(_one(text))})
            ctx.ask(_("Which times can people choose from? Send two or more, separated by |, for example: "
                        "Sat 10:00 | Sun 15:00 | Mon 18:30"))
            return
        if step == "times":
            if len([part for part in text.split("|") if part.strip()]) < 2:
                raise UserError(_("Send at least two times, separated by |, for example: Sat 10:00 | Sun 15:00"))
            parse_meet(_line(data["title"], text), ctx.tz)
            await ctx.start_dialog(NAME, "meet", "extra", {**data, "times": text})
            ctx.ask(_("Last step, if you want: how long it lasts and when the poll closes, separated by |, "
                        "for example: 90 min | closes Friday 18:00. Or press the button; “no” creates the date "
                        "poll as it is."), (ctx.button(_("Create the date poll"), NAME, "d", "meet"),))
            return
        await self._finish_meet(ctx, data, "" if is_skip(text) else text)

    async def _finish_meet(self, ctx: Context, data: dict[str, Any], extra: str) -> None:
        draft = parse_meet(_line(data["title"], data["times"], extra), ctx.tz)
        await ctx.end_dialog()
        await self.create_meet(ctx, draft)

    # --- /event --------------------------------------------------------------------------------------

    async def ask_event(self, ctx: Context) -> None:
        await ctx.start_dialog(NAME, "event", "title", {})
        ctx.ask(_("What is the event? Send its title. (Send /cancel to stop.)"))

    @dialog("event")
    async def event_dialog(self, ctx: Context, text: str, step: str, data: dict[str, Any]) -> None:
        if step == "title":
            await ctx.start_dialog(NAME, "event", "when", {"title": check_title(_one(text))})
            ctx.ask(_("When is it? For example: 2026-12-05 10:00, Sat 10:00, or every Saturday 10:00 until "
                        "March. Add its length after a |, for example: Sat 10:00 | 2h"))
            return
        if step == "when":
            when, _sep, length = text.partition("|")
            parse_event(_line(data["title"], when, length), ctx.tz)
            await ctx.start_dialog(NAME, "event", "place", {**data, "when": when.strip(), "length": length.strip()})
            ctx.ask(_("Where? Write the place, or share a location to show it on the map. Send “no” if there "
                        "is no place."), (ctx.button(_("No place"), NAME, "d", "noplace"),))
            return
        if step == "place":
            place = "" if is_skip(text) else _one(text)
            parse_event(_line(data["title"], data["when"], data["length"], place), ctx.tz)
            await self._ask_event_extra(ctx, {**data, "place": place})
            return
        await self._finish_event(ctx, data, "" if is_skip(text) else text)

    async def _ask_event_extra(self, ctx: Context, data: dict[str, Any]) -> None:
        await ctx.start_dialog(NAME, "event", "extra", data)
        ctx.ask(_("Last step, if you want: the number of places and the reminders, separated by |, for "
                    "example: capacity 20 | remind 1d 2h. Or press the button; “no” creates the event as it is."),
                  (ctx.button(_("Create the event"), NAME, "d", "event"),))

    async def _finish_event(self, ctx: Context, data: dict[str, Any], extra: str) -> None:
        draft = parse_event(_line(data["title"], data["when"], data["length"], data["place"], extra), ctx.tz)
        await ctx.end_dialog()
        await self.plan_event(ctx, draft)

    # --- buttons of the optional steps ---------------------------------------------------------------

    @button("d")
    async def dialog_button(self, ctx: Context, action: str) -> None:
        row = await ctx.current_dialog()
        expected = {"meet": ("meet", "extra"), "event": ("event", "extra"), "noplace": ("event", "place")}
        if row is None or row.interlinker != NAME or (row.dialog, row.step) != expected.get(action):
            raise UserError(_("This button is not valid any more. Send /help to start again."))
        data = dict(row.data)
        if action == "meet":
            await self._finish_meet(ctx, data, "")
        elif action == "event":
            await self._finish_event(ctx, data, "")
        else:
            await self._ask_event_extra(ctx, {**data, "place": ""})
