"""What the reports modules share: statuses (FixMyStreet's words, Open311's open/closed), the default
service list, look-ups and the people a report's news goes to."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import jobs
from bot.context import Context
from bot.errors import UserError
from bot.i18n import N_, _
from bot.words import leading_number
from interlinkers.reports._models import Follower, Report, StatusChange
from storage.models import ChatLink, Initiative
from storage.outbox import record_outcome

NAME = "reports"
NEAR_METRES = 50  # an open report of the same kind this close is offered as "is it this one?"
MAX_DESCRIPTION = 2000
MAX_PHOTOS = 3

STATUSES: dict[str, str] = {
    "submitted": N_("submitted"),
    "acknowledged": N_("acknowledged"),
    "in_progress": N_("in progress"),
    "action_scheduled": N_("action scheduled"),
    "fixed": N_("fixed"),
    "duplicate": N_("duplicate"),
    "not_responsible": N_("not the municipality's responsibility"),
    "closed": N_("closed"),
    "reopened": N_("reopened: still broken"),
}
CLOSED = {"fixed", "duplicate", "not_responsible", "closed"}  # Open311's "closed"; every other is "open"

# The services an initiative starts with (its organisers' list comes later); names translated when shown.
SERVICES: dict[str, str] = {
    "streetlight": N_("Street lighting"),
    "pothole": N_("Road or pavement damage"),
    "waste": N_("Litter and waste"),
    "graffiti": N_("Graffiti and vandalism"),
    "green": N_("Parks and trees"),
    "other": N_("Something else"),
}


def status_name(status: str) -> str:
    return _(STATUSES.get(status, status))


def service_name(code: str) -> str:
    return _(SERVICES[code]) if code in SERVICES else code


def read_status(typed: str) -> str:
    """A status as an organiser types it ("in progress", "in_progress", or its translation)."""
    word = typed.strip().casefold().replace(" ", "_").replace("-", "_")
    for code, label in STATUSES.items():
        if word in {code, _(label).casefold().replace(" ", "_")}:
            return code
    raise UserError(_("Write one of: {statuses}.").format(statuses=", ".join(status_name(code) for code in STATUSES)))


async def find_report(ctx: Context, number: int) -> Report:
    return await ctx.numbered(Report, number, _("There is no report #{number} here. Send /reports to see them."))


async def followers(session: AsyncSession, report: Report) -> list[int]:
    return list((await session.scalars(select(Follower.user_id).where(Follower.report_id == report.id))).all())


async def named_initiative(session: AsyncSession, wanted: str) -> Initiative | None:
    """The initiative an operator names on the command line: by id, or by name."""
    if wanted.isdigit():
        return await session.get(Initiative, int(wanted))
    return await session.scalar(select(Initiative).where(Initiative.name == wanted))


def facts(report: Report, photos: int | None = None) -> dict[str, Any]:
    """A report as the PA's outcomes carry it."""
    found: dict[str, Any] = {"number": report.number, "service_code": report.service_code,
                             "status": report.status, "address": report.address,
                             "lat": report.latitude, "long": report.longitude,
                             "requested_datetime": report.created_at.astimezone(UTC).isoformat()}
    if photos is not None:
        found["photos"] = photos
    return found


async def apply_status(session: AsyncSession, report: Report, status: str, note: str | None) -> None:
    """Change ``report``'s status in ``session``'s transaction: the report, its history and the PA's
    outcome (titled in the current language). Telling its followers is the caller's part."""
    report.status, report.status_note, report.updated_at = status, note, datetime.now(UTC)
    session.add(StatusChange(report_id=report.id, status=status, note=note))
    await session.flush()
    await record_outcome(session, report.initiative_id, "report_status", service_name(report.service_code),
                         {**facts(report), "note": note})


async def tell_later(session: AsyncSession, report: Report, status: str, note: str | None) -> bool:
    """From outside any chat (the PA's HTTP call, the municipality's endpoint): have the followers told,
    by a job in the report's chat (or another of its initiative's) written in this same transaction, so
    the change and the news commit together. False when the initiative has no chat left."""
    chat = await session.get(ChatLink, (report.platform, report.chat_id))
    if chat is None:
        chat = await session.scalar(select(ChatLink).where(ChatLink.initiative_id == report.initiative_id)
                                    .order_by(ChatLink.platform, ChatLink.chat_id).limit(1))
    if chat is None:
        return False
    await jobs.schedule(session, f"{NAME}:tell:{report.id}:{uuid.uuid4().hex}", NAME, "tell", chat.platform,
                        chat.chat_id, datetime.now(UTC), {"report_id": report.id, "status": status, "note": note})
    return True


def parse_number(args: str, command: str) -> tuple[int, str]:
    found = leading_number(args)
    if found is None:
        raise UserError(_("Write the report's number after the command, for example: /{command} 1").format(
            command=command))
    return found
