"""Volunteers: shifts with places (``/shift``), sign-up by button or ``/signup``, a fair waiting line whose
first person is offered a freed place for a limited time, reminders before the shift, rosters, and what the
PA receives."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import UserError
from bot.i18n import N_, _, format_clock, format_moment, format_number, format_percentage, ngettext
from bot.interlinker import Catalogue, Described, Interlinker, SettingSpec
from bot.panels import Export, Panel, Scope
from bot.when import lead_times_text, parse_lead_times
from interlinkers.volunteers import _dashboard as dashboard
from interlinkers.volunteers._dialog import ShiftDialog
from interlinkers.volunteers._feed import shifts_feed_route
from interlinkers.volunteers._models import Shift, ShiftFeed, Signup
from interlinkers.volunteers._shared import DEFAULT_CONFIRM_HOURS, DEFAULT_REMINDERS, NAME

MAX_CONFIRM_HOURS = 72


def _describe_reminders(stored: str) -> str:
    if not stored:
        return _("no reminders")
    return _("{times} before a shift").format(times=lead_times_text(stored))


def _parse_hours(typed: str) -> str:
    text = typed.strip().lower().rstrip("h").strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_CONFIRM_HOURS:
        raise UserError(_("Write a number of hours from 1 to {limit}, for example: 12").format(limit=MAX_CONFIRM_HOURS))
    return str(int(text))


def _describe_hours(stored: str) -> str:
    return ngettext("{count} hour", "{count} hours", int(stored)).format(count=int(stored))


class Volunteers(ShiftDialog, Interlinker):
    name = NAME
    catalogue = Catalogue(
        title=N_("Volunteers"),
        description=N_("Shifts with a number of places, sign-up from the chat, a fair waiting list, reminders, "
                       "check-in and the hours served."),
        problem_profiles=("ORG_PROBLEM_2", "ORG_PROBLEM_4"),
        targets=("citizens", "nonprofit", "public_administrations"),
    )
    migrations = Path(__file__).parent / "migrations"
    settings = (
        SettingSpec("shiftreminders", N_("reminders before each shift to those signed up, such as 1d 2h, or off"),
                    DEFAULT_REMINDERS, parse_lead_times, _describe_reminders),
        SettingSpec("confirmhours", N_("how long the first on a waiting list has to take a freed place"),
                    DEFAULT_CONFIRM_HOURS, _parse_hours, _describe_hours),
    )

    def routes(self) -> list[web.RouteDef]:
        return [shifts_feed_route(self.services.sessions)]

    # --- the PA side: see ``_dashboard`` ---

    def activity(self) -> list[Select[Any]]:
        return dashboard.activity()

    async def panels(self, session: AsyncSession, scope: Scope) -> list[Panel]:
        return await dashboard.panels(session, scope)

    async def digest(self, session: AsyncSession, scope: Scope) -> list[str]:
        return await dashboard.digest(session, scope)

    async def exports(self, session: AsyncSession, initiative_id: int) -> list[Export]:
        return await dashboard.exports(session, self.services.settings.secret, initiative_id)

    @classmethod
    def describe_outcome(cls, kind: str, result: dict[str, Any], tz: ZoneInfo) -> Described | None:
        headings = {"shift_planned": _("{initiative} — volunteer shift planned on {when}"),
                    "shift_done": _("{initiative} — volunteer shift over, recorded on {when}"),
                    "shift_corrected": _("{initiative} — attendance at a shift corrected on {when}"),
                    "shift_cancelled": _("{initiative} — volunteer shift cancelled on {when}"),
                    "volunteering_month": _("{initiative} — volunteering in a month, recorded on {when}")}
        if kind not in headings:
            return None
        if kind == "volunteering_month":
            facts = [_("{volunteers} volunteers, {hours} hours over {shifts} shifts").format(
                volunteers=result["volunteers"], hours=format_number(result["hours"]), shifts=result["shifts"])]
            if result.get("fill_rate") is not None:
                facts.append(_("places filled: {rate}").format(rate=format_percentage(result["fill_rate"])))
            if result.get("no_show_rate") is not None:
                facts.append(_("did not come: {rate}").format(rate=format_percentage(result["no_show_rate"])))
            return Described(headings[kind], [" · ".join(facts)])
        start, end = datetime.fromisoformat(result["starts_at"]), datetime.fromisoformat(result["ends_at"])
        facts = [f"{format_moment(start, tz, year=True)}–{format_clock(end, tz)}",
                 ngettext("{count} place", "{count} places", result["capacity"]).format(count=result["capacity"])]
        if result.get("place"):
            facts.append(_("at {place}").format(place=result["place"]))
        if "filled" in result:
            facts.append(_("{filled} signed up, {attended} came, {hours} hours served").format(
                filled=result["filled"], attended=result["attended"], hours=format_number(result["hours"])))
        return Described(headings[kind], [" · ".join(facts)])

    async def describe_user_data(self, session: AsyncSession, user_id: int) -> list[str]:
        count = int(await session.scalar(select(func.count()).select_from(Signup)
                                         .where(Signup.user_id == user_id)) or 0)
        if not count:
            return []
        return [ngettext("Volunteering: {count} shift sign-up (with its check-in and hours).",
                         "Volunteering: {count} shift sign-ups (with their check-in and hours).", count).format(
            count=count)]

    async def forget_user(self, session: AsyncSession, user_id: int) -> None:
        """Sign-ups for shifts still to come go; past ones lose the name but keep the hours served."""
        upcoming = select(Shift.id).where(Shift.ends_at > datetime.now(UTC)).scalar_subquery()
        await session.execute(delete(Signup).where(Signup.user_id == user_id, Signup.shift_id.in_(upcoming)))
        await session.execute(update(Signup).where(Signup.user_id == user_id).values(user_id=None))
        await session.execute(delete(ShiftFeed).where(ShiftFeed.user_id == user_id))
