"""What an Interlinker shows PA officers, in the core's words: the dashboard, the digest and the exports
know no Interlinker by name; each contributes ``Panel``s, digest lines, ``Export``s and its participants'
activity through the ``Interlinker`` interface, and the HTTP side renders them (charts as SVG with the same
numbers as a table).

Everything here names people only by a pseudonym (``bot.officers.pseudonym``) or not at all.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Select, String, cast, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from bot.summary import spreadsheet_safe
from storage.models import Membership


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    values: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Chart:
    """``bar``: one bar per label (several series side by side); ``line``: values over time (labels are
    periods); ``hbar``: horizontal bars, for long labels such as poll options."""

    kind: Literal["bar", "line", "hbar"]
    labels: tuple[str, ...]
    series: tuple[Series, ...]
    description: str  # what the chart shows, for screen readers (its table holds the numbers)


@dataclass(frozen=True, slots=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class Figure:
    """A headline number ("Fill rate: 80 %"), already formatted in the reader's language."""

    label: str
    value: str


@dataclass(frozen=True, slots=True)
class Panel:
    title: str
    figures: tuple[Figure, ...] = ()
    chart: Chart | None = None
    table: Table | None = None
    empty: str = ""  # shown when the panel has neither chart nor table (nothing yet)


@dataclass(frozen=True, slots=True)
class Filter:
    """A choice an Interlinker offers on the dashboard's filter bar (e.g. a report's status); the chosen
    value reaches every Interlinker's ``panels`` in ``Scope.filters[name]``."""

    name: str
    label: str
    options: tuple[tuple[str, str], ...]  # (value, label)


@dataclass(frozen=True, slots=True)
class Scope:
    """Which initiatives and which period a panel or digest covers, for whom (language set by the caller,
    time zone here)."""

    initiative_ids: tuple[int, ...]
    since: datetime
    until: datetime
    tz: ZoneInfo
    filters: Mapping[str, str] = field(default_factory=dict)
    dashboard_url: str = ""


@dataclass(frozen=True, slots=True)
class Export:
    """A file an Interlinker offers for an initiative: in the API, the dashboard and the open-data ZIP.
    ``columns`` documents each column (or field) for the ZIP's README."""

    name: str  # in URLs: /api/v1/initiatives/{id}/exports/{name}
    filename: str
    media_type: str
    content: bytes
    title: str
    columns: tuple[tuple[str, str], ...] = ()


def csv_file(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """A CSV export as every PA file is written: UTF-8, RFC 4180 line ends, a header row, and every cell a
    spreadsheet would run as a formula neutralised (``bot.summary.spreadsheet_safe``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([spreadsheet_safe(cell) for cell in row] for row in rows)
    return buffer.getvalue().encode("utf-8")


def utc_text(moment: datetime | None) -> str:
    """A moment in exports: ISO 8601 in UTC, or empty."""
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment is not None else ""


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def weeks(since: datetime, until: datetime, tz: ZoneInfo) -> list[date]:
    """Every Monday-started week from ``since`` to ``until`` (local dates)."""
    first, last = week_start(since.astimezone(tz).date()), week_start(until.astimezone(tz).date())
    found = []
    while first <= last:
        found.append(first)
        first += timedelta(days=7)
    return found


async def participants_by_week(session: AsyncSession, activity: Sequence[Select[Any]], scope: Scope
                               ) -> dict[date, int]:
    """Distinct people active each week in the scope's initiatives: whoever voted, answered, signed up,
    reported... (every Interlinker's ``activity``, each a SELECT of initiative id, a person key and a time)."""
    counts: dict[date, set[str]] = {week: set() for week in weeks(scope.since, scope.until, scope.tz)}
    if not activity or not scope.initiative_ids:
        return {week: 0 for week in counts}
    union = union_all(*activity).subquery()
    columns = list(union.c)
    rows = await session.execute(select(columns[1], columns[2]).where(
        columns[0].in_(scope.initiative_ids), columns[2] >= scope.since, columns[2] < scope.until))
    for person, at in rows.all():
        moment = at if isinstance(at, datetime) else datetime.fromisoformat(str(at))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo("UTC"))
        week = week_start(moment.astimezone(scope.tz).date())
        if week in counts:
            counts[week].add(str(person))
    return {week: len(people) for week, people in counts.items()}


async def members_by_team(session: AsyncSession, initiative_ids: Sequence[int]) -> dict[str, int]:
    rows = await session.execute(select(Membership.team, func.count()).where(
        Membership.initiative_id.in_(initiative_ids)).group_by(Membership.team))
    return {team: int(count) for team, count in rows.all()}


def person_key(column: Any) -> Any:
    """An activity row's person, as a string every Interlinker writes the same way (``u:<user id>``)."""
    return literal("u:", String).concat(cast(column, String))


__all__ = [
    "Chart", "Export", "Figure", "Filter", "Panel", "Scope", "Series", "Table", "csv_file", "members_by_team",
    "participants_by_week", "person_key", "utc_text", "week_start", "weeks",
]
