"""``interlink reports-csv <initiative>``: every report with the time it first reached each status, as
FixMyStreet's staff export has it, for the PA's spreadsheet. No reporter: the PA side identifies nobody.
Times are UTC (the header says so); typed cells are spreadsheet-safe."""

from __future__ import annotations

import argparse
from collections import Counter
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.interlinker import CliCommand
from bot.panels import csv_file, utc_text
from interlinkers.reports._models import Report, ReportPhoto, StatusChange
from interlinkers.reports._shared import STATUSES, named_initiative

COLUMNS = ["number", "service_code", "status", "description", "address", "lat", "long", "photos",
           "municipality_id", *(f"{status}_utc" for status in STATUSES), "last_change_utc",
           "hours_to_acknowledge", "hours_to_fix"]


def _hours(start: datetime, end: datetime | None) -> str:
    return f"{(end - start).total_seconds() / 3600:.1f}" if end else ""


async def reports_csv(session: AsyncSession, initiative_id: int) -> bytes:
    reports = (await session.scalars(select(Report).where(Report.initiative_id == initiative_id)
                                     .order_by(Report.number))).all()
    ids = [report.id for report in reports]
    history = (await session.execute(select(StatusChange.report_id, StatusChange.status, StatusChange.at)
                                     .where(StatusChange.report_id.in_(ids))
                                     .order_by(StatusChange.at, StatusChange.id))).all() if ids else []
    photos = Counter(dict((await session.execute(
        select(ReportPhoto.report_id, func.count()).where(ReportPhoto.report_id.in_(ids))
        .group_by(ReportPhoto.report_id))).all())) if ids else Counter()
    first: dict[int, dict[str, datetime]] = {}
    for report_id, status, at in history:
        first.setdefault(report_id, {}).setdefault(status, at)
    rows = []
    for report in reports:
        reached = first.get(report.id, {})
        acknowledged = min((at for status, at in reached.items() if status != "submitted"), default=None)
        rows.append((
            report.number, report.service_code, report.status, report.description, report.address or "",
            "" if report.latitude is None else report.latitude, "" if report.longitude is None else report.longitude,
            photos.get(report.id, 0), report.remote_id or "",
            *(utc_text(reached.get(status) or (report.created_at if status == "submitted" else None))
              for status in STATUSES),
            utc_text(report.updated_at), _hours(report.created_at, acknowledged),
            _hours(report.created_at, reached.get("fixed"))))
    return csv_file(COLUMNS, rows)


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("initiative", help="the initiative (its name, or its id)")


async def _run(sessions: async_sessionmaker[AsyncSession], args: argparse.Namespace) -> str:
    async with sessions() as session:
        wanted = str(args.initiative)
        initiative = await named_initiative(session, wanted)
        if initiative is None:
            return f"no initiative called {wanted!r}"
        return (await reports_csv(session, initiative.id)).decode().rstrip("\r\n")


COMMANDS = (CliCommand("reports-csv", "every citizen report of an initiative, with when it reached each status (CSV)",
                       _arguments, _run),)
