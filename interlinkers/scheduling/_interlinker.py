"""Scheduling: find a date (``/meet``), confirm it as an event or plan one (``/event``, recurring too),
RSVP, the .ics invite in the chat and a calendar feed, reminders in the group and privately, and the
outcomes the PA sees (confirmed, moved, cancelled, held)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import UserError
from bot.i18n import N_, _, format_datetime
from bot.interlinker import Catalogue, Described, Interlinker, SettingSpec
from bot.panels import Export, Panel, Scope
from bot.when import lead_times_text, parse_lead_times
from interlinkers.scheduling import _dashboard as dashboard
from interlinkers.scheduling._dialogs import Dialogs
from interlinkers.scheduling._feed import CalendarFeed, feed_route
from interlinkers.scheduling._models import Answer, Rsvp
from interlinkers.scheduling._shared import DEFAULT_REMINDERS, NAME

_ON = {"on", "yes", "si", "sí", "ja", "jā"}
_OFF = {"off", "no", "ne", "nē"}


def _describe_reminders(stored: str) -> str:
    if not stored:
        return _("no reminders")
    return _("{times} before an event").format(times=lead_times_text(stored))


def _parse_switch(typed: str) -> str:
    word = typed.strip().casefold()
    if word in _ON or word == _("on").casefold():
        return "on"
    if word in _OFF or word == _("off").casefold():
        return "off"
    raise UserError(_("Write “on” or “off”."))


def _describe_switch(stored: str) -> str:
    return _("on") if stored == "on" else _("off")


class Scheduling(Dialogs, CalendarFeed, Interlinker):
    name = NAME
    catalogue = Catalogue(
        title=N_("Scheduling"),
        description=N_("Find a date together, plan events (recurring too), answer who comes, get calendar "
                       "invites and reminders."),
        problem_profiles=("ORG_PROBLEM_2", "ORG_PROBLEM_4"),
        targets=("citizens", "nonprofit", "public_administrations"),
    )
    migrations = Path(__file__).parent / "migrations"
    settings = (
        SettingSpec("eventreminders", N_("reminders before each event, such as 1d 1h, or off"), DEFAULT_REMINDERS,
                    parse_lead_times, _describe_reminders),
        SettingSpec("privatereminders", N_("event reminders sent to you privately when you said you go: on or off"),
                    "on", _parse_switch, _describe_switch, personal=True),
    )

    @classmethod
    def describe_outcome(cls, kind: str, result: dict[str, Any], tz: ZoneInfo) -> Described | None:
        headings = {"event_confirmed": _("{initiative} — event planned on {when}"),
                    "event_rescheduled": _("{initiative} — event moved on {when}"),
                    "event_cancelled": _("{initiative} — event cancelled on {when}"),
                    "event_held": _("{initiative} — event took place, recorded on {when}")}
        if kind not in headings:
            return None
        facts = [_("starts {when}").format(when=format_datetime(
            datetime.fromisoformat(result.get("occurrence") or result["starts_at"]), tz, "medium"))]
        if result.get("place"):
            facts.append(_("at {place}").format(place=result["place"]))
        if result.get("recurrence"):
            facts.append(_("recurring"))
        if "going" in result:
            facts.append(_("{count} said they come").format(count=result["going"]))
        return Described(headings[kind], [" · ".join(facts)])

    def routes(self) -> list[web.RouteDef]:
        return [feed_route(self.services.sessions)]

    # --- the PA side: see ``_dashboard`` ---

    def activity(self) -> list[Select[Any]]:
        return dashboard.activity()

    async def panels(self, session: AsyncSession, scope: Scope) -> list[Panel]:
        return await dashboard.panels(session, scope)

    async def digest(self, session: AsyncSession, scope: Scope) -> list[str]:
        return await dashboard.digest(session, scope)

    async def exports(self, session: AsyncSession, initiative_id: int) -> list[Export]:
        return await dashboard.exports(session, self.services.settings.secret, initiative_id)

    async def describe_user_data(self, session: AsyncSession, user_id: int) -> list[str]:
        rsvps = int(await session.scalar(select(func.count()).select_from(Rsvp).where(Rsvp.user_id == user_id)) or 0)
        answers = int(await session.scalar(select(func.count(func.distinct(Answer.meet_id)))
                                           .where(Answer.user_id == user_id)) or 0)
        if not rsvps and not answers:
            return []
        return [_("Events: {rsvps} answers to events, answers to {meets} date polls.").format(
            rsvps=rsvps, meets=answers)]

    async def forget_user(self, session: AsyncSession, user_id: int) -> None:
        """Answers and RSVPs are personal: they go (the events and their outcomes stay)."""
        await session.execute(delete(Rsvp).where(Rsvp.user_id == user_id))
        await session.execute(delete(Answer).where(Answer.user_id == user_id))
