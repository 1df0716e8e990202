"""What the reports modules share: statuses (FixMyStreet's words, Open311's open/closed), the default
service list, look-ups and the people a report's news goes to."""

from __future__ import annotations

from sqlalchemy import select

from bot.context import Context
from bot.errors import UserError
from bot.i18n import N_, _
from bot.words import leading_number
from interlinkers.reports._models import Follower, Report

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
    found = await ctx.session.scalar(select(Report).where(Report.initiative_id == ctx.initiative.id,
                                                          Report.number == number))
    if found is None:
        raise UserError(_("There is no report #{number} here. Send /reports to see them.").format(number=number))
    return found


async def followers(ctx: Context, report: Report) -> list[int]:
    return list((await ctx.session.scalars(select(Follower.user_id).where(Follower.report_id == report.id))).all())


def parse_number(args: str, command: str) -> tuple[int, str]:
    found = leading_number(args)
    if found is None:
        raise UserError(_("Write the report's number after the command, for example: /{command} 1").format(
            command=command))
    return found
