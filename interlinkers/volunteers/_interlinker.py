"""Volunteers: shifts with places (``/shift``), sign-up by button or ``/signup``, a fair waiting line whose
first person is offered a freed place for a limited time, reminders before the shift, rosters, and what the
PA receives."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import UserError
from bot.i18n import N_, _, ngettext
from bot.interlinker import Catalogue, Interlinker, SettingSpec
from bot.when import lead_times_text, parse_lead_times
from interlinkers.volunteers._models import Shift, Signup
from interlinkers.volunteers._shared import DEFAULT_CONFIRM_HOURS, DEFAULT_REMINDERS, NAME
from interlinkers.volunteers._signups import Signups

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


class Volunteers(Signups, Interlinker):
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
