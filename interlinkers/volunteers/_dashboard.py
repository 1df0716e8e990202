"""What PA officers see of volunteering (``bot.panels``): the shifts of a period with their places filled and
the hours served, as figures, a chart and its table; digest lines (shifts soon short of people, new sign-ups,
shifts over); and two CSV files, people named only by their pseudonym. Participation counts each sign-up
and check-in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import _, format_clock, format_long_date, format_moment, format_number, format_percentage, ngettext
from bot.officers import pseudonym
from bot.panels import (
    Chart,
    Export,
    Figure,
    Panel,
    Scope,
    Series,
    Table,
    csv_file,
    person_key,
    utc_text,
    week_start,
    weeks,
)
from interlinkers.volunteers._models import IN, OFFERED, WAITING, Shift, Signup

PER_SHIFT_CHART = 12  # more shifts than this in a period: the chart goes by week
AHEAD = timedelta(days=7)  # how far ahead a digest looks for shifts short of people
_RANK = {IN: 0, OFFERED: 1, WAITING: 2}


@dataclass(slots=True)
class Tally:
    """One shift's sign-ups, counted: places held (signed up or offered), the line, who came, minutes."""

    taken: int = 0
    waiting: int = 0
    came: int = 0
    no_shows: int = 0
    minutes: int = 0
    people: set[str] = field(default_factory=set)


def activity() -> list[Select[Any]]:
    """Signing up, and checking in on the day (sign-ups of forgotten people are not anyone's)."""
    signed = (select(Shift.initiative_id, person_key(Signup.user_id), Signup.queued_at)
              .join(Shift, Shift.id == Signup.shift_id).where(Signup.user_id.is_not(None)))
    checked = (select(Shift.initiative_id, person_key(Signup.user_id), Signup.checked_in_at)
               .join(Shift, Shift.id == Signup.shift_id)
               .where(Signup.user_id.is_not(None), Signup.checked_in_at.is_not(None)))
    return [signed, checked]


async def _tallies(session: AsyncSession, shifts: Sequence[Shift]) -> dict[int, Tally]:
    tallies = {shift.id: Tally() for shift in shifts}
    if not shifts:
        return tallies
    rows = await session.execute(select(Signup.id, Signup.shift_id, Signup.user_id, Signup.state,
                                        Signup.checked_in_at, Signup.attended, Signup.minutes)
                                 .where(Signup.shift_id.in_(list(tallies))))
    for signup_id, shift_id, user_id, state, checked_in_at, attended, minutes in rows.all():
        tally = tallies[shift_id]
        if state == WAITING:
            tally.waiting += 1
            continue
        tally.taken += 1
        # A forgotten person is still one person: counted once, under the sign-up's own key.
        tally.people.add(f"u:{user_id}" if user_id is not None else f"s:{signup_id}")
        if state == IN:
            tally.came += bool(attended or checked_in_at is not None)
            tally.no_shows += attended is False
            tally.minutes += minutes or 0
    return tallies


def _hours(minutes: int) -> str:
    return format_number(round(minutes / 60, 1))


def _when(shift: Shift, scope: Scope) -> str:
    return f"{format_moment(shift.starts_at, scope.tz, year=True)}–{format_clock(shift.ends_at, scope.tz)}"


def _label(shift: Shift) -> str:
    return f"#{shift.number} {shift.title}"


async def panels(session: AsyncSession, scope: Scope) -> list[Panel]:
    title = _("Volunteer shifts")
    if not scope.initiative_ids:
        return [Panel(title, empty=_("No volunteer shifts in this period."))]
    found = list((await session.scalars(select(Shift).where(
        Shift.initiative_id.in_(scope.initiative_ids), Shift.starts_at >= scope.since,
        Shift.starts_at < scope.until).order_by(Shift.starts_at, Shift.id))).all())
    shifts = [shift for shift in found if shift.status != "cancelled"]
    cancelled = len(found) - len(shifts)
    if not shifts:
        gone = (Figure(_("Cancelled shifts"), format_number(cancelled)),) if cancelled else ()
        return [Panel(title, gone, empty=_("No volunteer shifts in this period."))]
    tallies = await _tallies(session, shifts)
    places = sum(shift.capacity for shift in shifts)
    taken = sum(tallies[shift.id].taken for shift in shifts)
    people = {key for shift in shifts for key in tallies[shift.id].people}
    figures = [
        Figure(_("Shifts"), format_number(len(shifts))),
        Figure(_("Places filled"), _("{taken} of {places}").format(taken=format_number(taken),
                                                                     places=format_number(places))),
        Figure(_("Fill rate"), format_percentage(taken / places) if places else "—"),
        Figure(_("Hours served"), _hours(sum(tallies[shift.id].minutes for shift in shifts))),
        Figure(_("Volunteers"), format_number(len(people))),
    ]
    if cancelled:
        figures.append(Figure(_("Cancelled shifts"), format_number(cancelled)))
    detail = _shift_table(shifts, tallies, scope)
    taken_name, free_name = _("Places taken"), _("Places free")
    if len(shifts) <= PER_SHIFT_CHART:
        chart = Chart("bar", tuple(_label(shift) for shift in shifts), (
            Series(taken_name, tuple(float(tallies[shift.id].taken) for shift in shifts)),
            Series(free_name, tuple(float(max(0, shift.capacity - tallies[shift.id].taken)) for shift in shifts))),
            _("Places taken and free on each volunteer shift of the period."))
        return [Panel(title, tuple(figures), chart, detail)]
    week_list = weeks(scope.since, scope.until, scope.tz)
    by_week: dict[date, list[Shift]] = {week: [] for week in week_list}
    for shift in shifts:
        by_week.setdefault(week_start(shift.starts_at.astimezone(scope.tz).date()), []).append(shift)
    labels, held, free, rows = [], [], [], []
    for week, inside in sorted(by_week.items()):
        week_places = sum(shift.capacity for shift in inside)
        week_taken = sum(tallies[shift.id].taken for shift in inside)
        label = _("Week of {day}").format(day=format_long_date(week))
        labels.append(label)
        held.append(float(week_taken))
        free.append(float(max(0, week_places - week_taken)))
        rows.append((label, format_number(len(inside)), format_number(week_places), format_number(week_taken),
                     format_number(max(0, week_places - week_taken)),
                     format_percentage(week_taken / week_places) if week_places else "—"))
    chart = Chart("bar", tuple(labels), (Series(taken_name, tuple(held)), Series(free_name, tuple(free))),
                  _("Places taken and free on volunteer shifts, week by week."))
    weekly = Table((_("Week"), _("Shifts"), _("Places"), _("Taken"), _("Free"), _("Fill rate")), tuple(rows))
    return [Panel(title, tuple(figures), chart, weekly), Panel(_("Volunteer shifts, one by one"), table=detail)]


def _shift_table(shifts: Sequence[Shift], tallies: dict[int, Tally], scope: Scope) -> Table:
    now = datetime.now(UTC)
    rows = []
    for shift in shifts:
        tally = tallies[shift.id]
        ahead = shift.starts_at > now  # nobody can have come yet
        rows.append((f"#{shift.number}", shift.title, _when(shift, scope), format_number(shift.capacity),
                     format_number(tally.taken), format_number(max(0, shift.capacity - tally.taken)),
                     format_number(tally.waiting), "—" if ahead else format_number(tally.came),
                     "—" if ahead else _hours(tally.minutes)))
    return Table((_("Shift"), _("Title"), _("When"), _("Places"), _("Taken"), _("Free"), _("Waiting"), _("Came"),
                  _("Hours served")), tuple(rows))


async def digest(session: AsyncSession, scope: Scope) -> list[str]:
    lines: list[str] = []
    ids = scope.initiative_ids
    soon = list((await session.scalars(select(Shift).where(
        Shift.initiative_id.in_(ids), Shift.status == "open", Shift.starts_at >= scope.until,
        Shift.starts_at < scope.until + AHEAD).order_by(Shift.starts_at, Shift.id))).all())
    tallies = await _tallies(session, soon)
    for shift in soon:
        free = shift.capacity - tallies[shift.id].taken
        if free > 0:
            lines.append(ngettext("Shift #{number} {title}, {when}: {free} of {capacity} place free",
                                  "Shift #{number} {title}, {when}: {free} of {capacity} places free",
                                  shift.capacity).format(
                number=shift.number, title=shift.title, when=format_moment(shift.starts_at, scope.tz),
                free=format_number(free), capacity=format_number(shift.capacity)))
    new = int(await session.scalar(select(func.count()).select_from(Signup).join(Shift, Shift.id == Signup.shift_id)
                                   .where(Shift.initiative_id.in_(ids), Signup.queued_at >= scope.since,
                                          Signup.queued_at < scope.until)) or 0)
    if new:
        lines.append(ngettext("{count} new sign-up for volunteer shifts", "{count} new sign-ups for volunteer shifts",
                              new).format(count=format_number(new)))
    over = list((await session.scalars(select(Shift).where(
        Shift.initiative_id.in_(ids), Shift.status == "done", Shift.ends_at >= scope.since,
        Shift.ends_at < scope.until).order_by(Shift.ends_at, Shift.id))).all())
    done = await _tallies(session, over)
    for shift in over:
        signed = done[shift.id].taken
        lines.append(_("Shift #{number} {title} is over: {came} of {signed} came, {hours} hours served").format(
            number=shift.number, title=shift.title, came=format_number(done[shift.id].came),
            signed=format_number(signed), hours=_hours(done[shift.id].minutes)))
    return lines


SHIFT_COLUMNS = (
    ("shift", "The shift's number in its initiative."),
    ("title", "The shift's title, as the organisers wrote it."),
    ("role", "What volunteers do on the shift, if the organisers said."),
    ("place", "Where the shift takes place, if the organisers said."),
    ("starts_utc", "When the shift starts, in UTC (ISO 8601)."),
    ("ends_utc", "When the shift ends, in UTC (ISO 8601)."),
    ("timezone", "The initiative's time zone (IANA name) the shift was planned in."),
    ("status", "open (still to come or under way), done (over) or cancelled."),
    ("places", "How many volunteers the shift needs."),
    ("taken", "Places taken: signed up, or offered to the first in the waiting line and not yet confirmed."),
    ("waiting", "People on the waiting list."),
    ("came", "Volunteers who came (checked in with the shift's code, or confirmed by an organiser)."),
    ("no_shows", "Volunteers with a place who did not come, once the shift is over."),
    ("minutes_served", "Minutes served by all the shift's volunteers together, counted when it ends."),
)
SIGNUP_COLUMNS = (
    ("shift", "The shift's number in its initiative (see shifts.csv)."),
    ("person", "A pseudonym, the same for one person across this initiative's files; empty if they asked to "
               "be forgotten."),
    ("state", "in (has a place), offered (a freed place, to confirm) or waiting (on the waiting list)."),
    ("signed_up_utc", "When the person signed up or joined the waiting list, in UTC (ISO 8601)."),
    ("checked_in_utc", "When the person checked in on the day, in UTC (ISO 8601); empty if they did not."),
    ("attended", "yes or no once the shift is over (or an organiser confirmed); empty before."),
    ("minutes", "Minutes the person served, counted when the shift ends; empty before."),
)


async def exports(session: AsyncSession, secret: str, initiative_id: int) -> list[Export]:
    shifts = list((await session.scalars(select(Shift).where(Shift.initiative_id == initiative_id)
                                         .order_by(Shift.number))).all())
    tallies = await _tallies(session, shifts)
    shift_rows = []
    for shift in shifts:
        tally = tallies[shift.id]
        shift_rows.append((shift.number, shift.title, shift.role or "", shift.place or "", utc_text(shift.starts_at),
                           utc_text(shift.ends_at), shift.timezone, shift.status, shift.capacity, tally.taken,
                           tally.waiting, tally.came, tally.no_shows, tally.minutes))
    numbers = {shift.id: shift.number for shift in shifts}
    signups = (await session.scalars(select(Signup).where(Signup.shift_id.in_(list(numbers))))).all()
    ordered = sorted(signups, key=lambda row: (numbers[row.shift_id], _RANK.get(row.state, 3), row.queued_at, row.id))
    signup_rows = [(numbers[row.shift_id], pseudonym(secret, initiative_id, row.user_id), row.state,
                    utc_text(row.queued_at), utc_text(row.checked_in_at),
                    "" if row.attended is None else ("yes" if row.attended else "no"),
                    "" if row.minutes is None else row.minutes) for row in ordered]
    return [
        Export("shifts.csv", "shifts.csv", "text/csv; charset=utf-8",
               csv_file([name for name, _doc in SHIFT_COLUMNS], shift_rows),
               _("Volunteer shifts: places, sign-ups, attendance and minutes served"), SHIFT_COLUMNS),
        Export("shift-signups.csv", "shift-signups.csv", "text/csv; charset=utf-8",
               csv_file([name for name, _doc in SIGNUP_COLUMNS], signup_rows),
               _("Sign-ups for volunteer shifts, by pseudonym: state, check-in and minutes served"), SIGNUP_COLUMNS),
    ]
