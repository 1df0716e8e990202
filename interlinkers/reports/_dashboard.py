"""Citizen reports on the PA side, as FixMyStreet's dashboard shows them: reports by status and category,
how long the municipality takes to acknowledge and to fix them, what waits too long, and the files an
officer downloads (``bot.panels``' vocabulary; the core knows no report).

- A report is *acknowledged* at its first status change after "submitted" (whatever the status: even a
  rejection is an answer) and *fixed* when it first reached "fixed", as the reports CSV and the monthly
  outcome count them. The medians are over the reports acknowledged (fixed) in the period, from filing.
- The dashboard's status filter (``Scope.filters["status"]``, one of ``STATUSES``; any other value is not
  ours and is ignored) keeps only the reports now in that status, in every figure, chart and table.
- Overdue (digest): a report waiting for an answer (submitted, or reopened as still broken) whose last
  change is more than ``OVERDUE_HOURS`` old: two days, the time many municipalities commit to
  acknowledging a report in.
- Participation (``activity``): each report filed in a chat, by its reporter (those filed through Open311
  by a municipal system, or whose reporter was forgotten, have nobody).
- Nobody is named: no reporter in any panel, line or file.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import _, format_list, format_moment, format_number, ngettext
from bot.panels import Chart, Export, Figure, Filter, Panel, Scope, Series, Table, person_key
from interlinkers.reports._export import COLUMNS, reports_csv
from interlinkers.reports._models import Report, StatusChange
from interlinkers.reports._open311 import as_requests
from interlinkers.reports._shared import CLOSED, SERVICES, STATUSES, service_name, status_name
from storage.models import Initiative

OVERDUE_HOURS = 48
WAITING = ("submitted", "reopened")  # statuses that wait for the municipality's answer
MAX_LISTED = 200  # reports listed in the dashboard's table (the figures count them all)
MAX_CHANGES = 10  # reports named in the digest's line of status changes


# --- participation and the filter ------------------------------------------------------------------------


def activity() -> list[Select[Any]]:
    return [select(Report.initiative_id, person_key(Report.user_id), Report.created_at)
            .where(Report.user_id.is_not(None))]


def filters() -> list[Filter]:
    return [Filter("status", _("Report status"), tuple((code, status_name(code)) for code in STATUSES))]


def _status_filter(scope: Scope) -> str | None:
    wanted = scope.filters.get("status")
    return wanted if wanted in STATUSES else None


# --- reading ---------------------------------------------------------------------------------------------


def _first(statuses: ColumnElement[bool]) -> Any:
    """Each report's first change matching ``statuses``: (report_id, at)."""
    return (select(StatusChange.report_id, func.min(StatusChange.at).label("at"))
            .where(statuses).group_by(StatusChange.report_id).subquery())


_ACKNOWLEDGED = _first(StatusChange.status != "submitted")
_FIXED = _first(StatusChange.status == "fixed")


def _hours(start: datetime, end: datetime | None) -> float | None:
    return (end - start).total_seconds() / 3600 if end is not None else None


def _median(hours: Sequence[float]) -> str:
    return format_number(round(median(hours), 1)) if hours else "—"


def _where(scope: Scope) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Report.initiative_id.in_(scope.initiative_ids)]
    if (status := _status_filter(scope)) is not None:
        conditions.append(Report.status == status)
    return conditions


@dataclass(frozen=True, slots=True)
class Filed:
    """A report filed in the period, as the dashboard lists it."""

    initiative_id: int
    number: int
    service_code: str
    status: str
    created_at: datetime
    acknowledged_at: datetime | None
    fixed_at: datetime | None


async def _filed(session: AsyncSession, scope: Scope) -> list[Filed]:
    rows = await session.execute(
        select(Report.initiative_id, Report.number, Report.service_code, Report.status, Report.created_at,
               _ACKNOWLEDGED.c.at, _FIXED.c.at)
        .outerjoin(_ACKNOWLEDGED, _ACKNOWLEDGED.c.report_id == Report.id)
        .outerjoin(_FIXED, _FIXED.c.report_id == Report.id)
        .where(*_where(scope), Report.created_at >= scope.since, Report.created_at < scope.until)
        .order_by(Report.created_at, Report.id))
    return [Filed(*row) for row in rows.all()]


async def _times(session: AsyncSession, scope: Scope, first: Any) -> list[float]:
    """Hours from filing to ``first`` (acknowledged, fixed) for each report that reached it in the period."""
    rows = await session.execute(select(Report.created_at, first.c.at).join(first, first.c.report_id == Report.id)
                                 .where(*_where(scope), first.c.at >= scope.since, first.c.at < scope.until))
    return [(at - created).total_seconds() / 3600 for created, at in rows.all()]


def _categories(codes: Sequence[str]) -> list[str]:
    """The categories in the service list's order, then any other code."""
    present = set(codes)
    return [code for code in SERVICES if code in present] + sorted(present - set(SERVICES))


# --- the dashboard ---------------------------------------------------------------------------------------


async def panels(session: AsyncSession, scope: Scope) -> list[Panel]:
    if not scope.initiative_ids:
        return []
    filed = await _filed(session, scope)
    open_now = int(await session.scalar(select(func.count()).select_from(Report).where(
        *_where(scope), Report.status.not_in(CLOSED))) or 0)
    acknowledged = await _times(session, scope, _ACKNOWLEDGED)
    fixed = await _times(session, scope, _FIXED)
    by_status = Counter(report.status for report in filed)
    statuses = [code for code in STATUSES if by_status[code]]
    nothing = _("No reports were filed in this period.")
    overview = Panel(
        title=_("Citizen reports"),
        figures=(
            Figure(_("New reports in the period"), format_number(len(filed))),
            Figure(_("Open now"), format_number(open_now)),
            Figure(_("Fixed in the period"), format_number(len(fixed))),
            Figure(_("Median hours to acknowledge"), _median(acknowledged)),
            Figure(_("Median hours to fix"), _median(fixed)),
        ),
        chart=Chart("bar", tuple(status_name(code) for code in statuses),
                    (Series(_("Reports"), tuple(float(by_status[code]) for code in statuses)),),
                    _("Reports filed in the period, by their status now.")) if filed else None,
        table=Table((_("Status"), _("Reports")),
                    tuple((status_name(code), format_number(by_status[code])) for code in statuses)) if filed else None,
        empty=nothing,
    )
    cells = Counter((report.service_code, report.status) for report in filed)
    categories = _categories([report.service_code for report in filed])
    by_category = Panel(
        title=_("Reports by category"),
        chart=Chart("bar", tuple(service_name(code) for code in categories),
                    tuple(Series(status_name(status), tuple(float(cells[code, status]) for code in categories))
                          for status in statuses),
                    _("Reports filed in the period in each category, by their status now.")) if filed else None,
        table=Table((_("Category"), *(status_name(status) for status in statuses), _("Total")),
                    tuple((service_name(code), *(format_number(cells[code, status]) for status in statuses),
                           format_number(sum(cells[code, status] for status in statuses)))
                          for code in categories)) if filed else None,
        empty=nothing,
    )
    several = len(scope.initiative_ids) > 1
    names = dict((await session.execute(select(Initiative.id, Initiative.name).where(
        Initiative.id.in_(scope.initiative_ids)))).all()) if several else {}
    shown = filed[-MAX_LISTED:]
    listed = Panel(
        title=_("Reports filed in the period"),
        figures=(Figure(_("Shown"), _("the latest {shown} of {count}").format(
            shown=format_number(len(shown)), count=format_number(len(filed)))),) if len(shown) < len(filed) else (),
        table=Table(
            (_("Report"), _("Category"), _("Status"), _("Filed"), _("Hours to acknowledge"), _("Hours to fix")),
            tuple(((f"{names.get(report.initiative_id, '')} #{report.number}" if several else f"#{report.number}"),
                   service_name(report.service_code), status_name(report.status),
                   format_moment(report.created_at, scope.tz, year=True),
                   _hours_text(report.created_at, report.acknowledged_at),
                   _hours_text(report.created_at, report.fixed_at)) for report in shown),
        ) if filed else None,
        empty=nothing,
    )
    return [overview, by_category, listed]


def _hours_text(start: datetime, end: datetime | None) -> str:
    hours = _hours(start, end)
    return format_number(round(hours, 1)) if hours is not None else "—"


# --- the digest ------------------------------------------------------------------------------------------


async def digest(session: AsyncSession, scope: Scope) -> list[str]:
    """New reports by category, those waiting too long for an answer, and the status changes of the period."""
    if not scope.initiative_ids:
        return []
    ids = scope.initiative_ids
    lines = []
    new = Counter((await session.scalars(select(Report.service_code).where(
        Report.initiative_id.in_(ids), Report.created_at >= scope.since, Report.created_at < scope.until))).all())
    if new:
        total = sum(new.values())
        lines.append(ngettext("{count} new report: {categories}.", "{count} new reports: {categories}.", total).format(
            count=format_number(total), categories=format_list(
                [f"{service_name(code)} ({format_number(new[code])})" for code in _categories(list(new))])))
    overdue = (await session.scalars(select(Report.number).where(
        Report.initiative_id.in_(ids), Report.status.in_(WAITING),
        Report.updated_at <= scope.until - timedelta(hours=OVERDUE_HOURS)).order_by(Report.number))).all()
    if overdue:
        lines.append(ngettext(
            "{count} report has waited more than {hours} hours for an answer: {numbers}.",
            "{count} reports have waited more than {hours} hours for an answer: {numbers}.", len(overdue)).format(
            count=format_number(len(overdue)), hours=OVERDUE_HOURS,
            numbers=format_list([f"#{number}" for number in overdue])))
    changes = (await session.execute(
        select(Report.number, StatusChange.status).join(Report, Report.id == StatusChange.report_id)
        .where(Report.initiative_id.in_(ids), StatusChange.status != "submitted",
               StatusChange.at >= scope.since, StatusChange.at < scope.until)
        .order_by(StatusChange.at, StatusChange.id))).all()
    latest: dict[int, str] = {}
    for number, status in changes:
        latest.pop(number, None)
        latest[number] = status  # the report's last status in the period, in the order they last changed
    if latest:
        named = [_("#{number} {status}").format(number=number, status=status_name(status))
                 for number, status in list(latest.items())[:MAX_CHANGES]]
        if len(latest) > MAX_CHANGES:
            named.append(ngettext("{count} more", "{count} more", len(latest) - MAX_CHANGES).format(
                count=format_number(len(latest) - MAX_CHANGES)))
        lines.append(_("Status changes: {changes}.").format(changes=format_list(named)))
    return lines


# --- exports ---------------------------------------------------------------------------------------------

_STATUS_COLUMNS = tuple((f"{status}_utc", f"When it first became {status.replace('_', ' ')}, ISO 8601, UTC.")
                        for status in STATUSES)
CSV_COLUMNS = (
    ("number", "The report's number in its initiative (#N in the chat)."),
    ("service_code", "Its category: " + ", ".join(SERVICES) + "."),
    ("status", "Its status now: " + ", ".join(STATUSES) + "."),
    ("description", "The problem, as the reporter described it."),
    ("address", "The address given, if any."),
    ("lat", "Latitude (WGS 84), if a point was given."),
    ("long", "Longitude (WGS 84), if a point was given."),
    ("photos", "How many photos it has."),
    ("municipality_id", "Its id in the municipality's own system, once forwarded there."),
    *_STATUS_COLUMNS,
    ("last_change_utc", "When it last changed, ISO 8601, UTC."),
    ("hours_to_acknowledge", "Hours from filing to its first status change."),
    ("hours_to_fix", "Hours from filing to when it was first marked fixed."),
)
assert tuple(name for name, _doc in CSV_COLUMNS) == tuple(COLUMNS)
OPEN311_FIELDS = (
    ("service_request_id", "The request's id (Open311 GeoReport v2; jurisdiction_id is the initiative's id)."),
    ("status", "open or closed."),
    ("status_notes", "The status in words, and the municipality's note."),
    ("service_code", "The category's code; service_name its name."),
    ("description", "The problem, as the reporter described it."),
    ("requested_datetime", "When it was filed, ISO 8601, UTC; updated_datetime when it last changed."),
    ("address", "The address given, if any; lat and long the point (WGS 84)."),
    ("media_url", "A link to its first photo (re-encoded without metadata), if any."),
)


async def exports(session: AsyncSession, initiative_id: int, public_url: str) -> list[Export]:
    locale = str(await session.scalar(select(Initiative.locale).where(Initiative.id == initiative_id)) or "en")
    reports = list((await session.scalars(select(Report).where(Report.initiative_id == initiative_id)
                                          .order_by(Report.number))).all())
    requests = await as_requests(session, reports, locale, public_url)
    return [
        Export("reports.csv", "reports.csv", "text/csv; charset=utf-8",
               await reports_csv(session, initiative_id), _("Citizen reports and their times (CSV)"),
               CSV_COLUMNS),
        Export("reports-open311.json", "reports-open311.json", "application/json",
               json.dumps(requests, ensure_ascii=False, indent=2).encode(),
               _("Citizen reports as Open311 service requests (JSON)"), OPEN311_FIELDS),
    ]
