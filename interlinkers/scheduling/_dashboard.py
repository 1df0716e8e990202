"""What PA officers see of scheduling (``bot.panels``): the events of a period (each date of a series
counted) with who said they go, the date polls, digest lines (events of the coming week, polls still open),
and files: the events as an iCalendar file and as CSV, and the answers by pseudonym. Participation counts
each answer to an event (answers to date polls carry no time, so they are not counted by week).

Attendance at events is not recorded (nobody checks in): the figures are what people said."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import recurrence
from bot.i18n import _, format_moment, format_number, ngettext
from bot.ical import feed
from bot.officers import pseudonym
from bot.panels import Chart, Export, Figure, Panel, Scope, Series, Table, csv_file, person_key, utc_text
from interlinkers.scheduling._models import Answer, Event, Meet, Rsvp, Slot
from interlinkers.scheduling._parsing import GOING, MAYBE, NOT_GOING
from interlinkers.scheduling._shared import first_start, ics, rule_of, zone
from storage.models import Initiative

AHEAD = timedelta(days=7)  # how far ahead a digest looks
MAX_DATES = 5000  # occurrences counted per event and period (a daily event over years stays bounded)
_BATCH = 200
ANSWER_CODES = {GOING: "going", MAYBE: "maybe", NOT_GOING: "not_going"}


def activity() -> list[Select[Any]]:
    """Answering whether one goes to an event (the latest answer's time)."""
    return [select(Event.initiative_id, person_key(Rsvp.user_id), Rsvp.answered_at)
            .join(Event, Event.id == Rsvp.event_id).where(Rsvp.user_id.is_not(None))]


def starts_between(event: Event, since: datetime, until: datetime) -> list[datetime]:
    """The event's starts in [since, until), cancelled or not (local, aware)."""
    found: list[datetime] = []
    after = since - timedelta(microseconds=1)
    while len(found) < MAX_DATES:
        batch = recurrence.occurrences(first_start(event), rule_of(event), zone(event), after, _BATCH)
        inside = [start for start in batch if start < until]
        found.extend(inside)
        if len(inside) < len(batch) or len(batch) < _BATCH:
            break
        after = batch[-1]
    return found[:MAX_DATES]


async def _counts(session: AsyncSession, event_ids: Sequence[int]) -> dict[int, dict[int, int]]:
    """Event id → answer → how many gave it."""
    counts: dict[int, dict[int, int]] = {event_id: {GOING: 0, MAYBE: 0, NOT_GOING: 0} for event_id in event_ids}
    if event_ids:
        for event_id, answer, count in (await session.execute(
                select(Rsvp.event_id, Rsvp.answer, func.count()).where(Rsvp.event_id.in_(list(event_ids)))
                .group_by(Rsvp.event_id, Rsvp.answer))).all():
            counts[event_id][answer] = int(count)
    return counts


async def _answered(session: AsyncSession, meet_ids: Sequence[int]) -> dict[int, int]:
    """Date poll id → how many people answered it."""
    return {meet_id: int(count) for meet_id, count in (await session.execute(
        select(Answer.meet_id, func.count(func.distinct(Answer.user_id))).where(Answer.meet_id.in_(list(meet_ids)))
        .group_by(Answer.meet_id))).all()}


def _label(event: Event) -> str:
    return f"#{event.number} {event.title}"


async def panels(session: AsyncSession, scope: Scope) -> list[Panel]:
    return [await _events_panel(session, scope), await _polls_panel(session, scope)]


async def _events_panel(session: AsyncSession, scope: Scope) -> Panel:
    title, empty = _("Events"), _("No events in this period.")
    if not scope.initiative_ids:
        return Panel(title, empty=empty)
    candidates = (await session.scalars(select(Event).where(
        Event.initiative_id.in_(scope.initiative_ids), Event.starts_at < scope.until)
        .order_by(Event.starts_at, Event.id))).all()
    dated = [(event, starts) for event in candidates if (starts := starts_between(event, scope.since, scope.until))]
    held = [(event, starts) for event, starts in dated if event.status == "scheduled"]
    cancelled = len(dated) - len(held)
    if not held:
        gone = (Figure(_("Cancelled events"), format_number(cancelled)),) if cancelled else ()
        return Panel(title, gone, empty=empty)
    held.sort(key=lambda item: (item[1][0], item[0].id))
    counts = await _counts(session, [event.id for event, _starts in held])
    totals = {answer: sum(counts[event.id][answer] for event, _starts in held) for answer in ANSWER_CODES}
    figures = [Figure(_("Events held or planned"), format_number(sum(len(starts) for _event, starts in held))),
               Figure(_("Going"), format_number(totals[GOING])), Figure(_("Maybe"), format_number(totals[MAYBE])),
               Figure(_("Not going"), format_number(totals[NOT_GOING]))]
    if cancelled:
        figures.append(Figure(_("Cancelled events"), format_number(cancelled)))
    names = {GOING: _("Going"), MAYBE: _("Maybe"), NOT_GOING: _("Not going")}
    chart = Chart("hbar", tuple(_label(event) for event, _starts in held),
                  tuple(Series(names[answer], tuple(float(counts[event.id][answer]) for event, _starts in held))
                        for answer in ANSWER_CODES),
                  _("How many said they go, maybe go or do not go, for each event of the period (a recurring "
                    "event's answers hold for all its dates)."))
    rows = []
    for event, starts in held:
        when = format_moment(starts[0], scope.tz, year=True)
        rule = rule_of(event)
        if rule is not None:
            when = _("{rule}; first in the period: {when}").format(
                rule=recurrence.describe(rule, zone(event), first_start(event)), when=when)
        rows.append((f"#{event.number}", event.title, when, format_number(len(starts)), event.place or "",
                     format_number(counts[event.id][GOING]), format_number(counts[event.id][MAYBE]),
                     format_number(counts[event.id][NOT_GOING]),
                     format_number(event.capacity) if event.capacity is not None else "—"))
    table = Table((_("Event"), _("Title"), _("When"), _("Dates in the period"), _("Place"), _("Going"), _("Maybe"),
                   _("Not going"), _("Places")), tuple(rows))
    return Panel(title, tuple(figures), chart, table)


async def _polls_panel(session: AsyncSession, scope: Scope) -> Panel:
    title = _("Date polls")
    empty = _("No date polls were started in this period.")
    if not scope.initiative_ids:
        return Panel(title, empty=empty)
    meets = (await session.scalars(select(Meet).where(
        Meet.initiative_id.in_(scope.initiative_ids), Meet.created_at >= scope.since, Meet.created_at < scope.until)
        .order_by(Meet.created_at, Meet.id))).all()
    if not meets:
        return Panel(title, empty=empty)
    ids = [meet.id for meet in meets]
    times = {meet_id: int(count) for meet_id, count in (await session.execute(
        select(Slot.meet_id, func.count()).where(Slot.meet_id.in_(ids)).group_by(Slot.meet_id))).all()}
    people = await _answered(session, ids)
    statuses = {"open": _("open"), "confirmed": _("confirmed"), "closed": _("closed without a date")}
    figures = (Figure(_("Still open"), format_number(sum(meet.status == "open" for meet in meets))),
               Figure(_("Confirmed as events"), format_number(sum(meet.status == "confirmed" for meet in meets))),
               Figure(_("Closed without a date"), format_number(sum(meet.status == "closed" for meet in meets))))
    rows = tuple((f"#{meet.number}", meet.title, statuses.get(meet.status, meet.status),
                  format_number(times.get(meet.id, 0)), format_number(people.get(meet.id, 0)),
                  format_moment(meet.closes_at, scope.tz, year=True) if meet.closes_at is not None else "—")
                 for meet in meets)
    table = Table((_("Date poll"), _("Title"), _("Status"), _("Times offered"), _("People who answered"),
                   _("Closes")), rows)
    return Panel(title, figures, table=table)


async def digest(session: AsyncSession, scope: Scope) -> list[str]:
    lines: list[str] = []
    ids = scope.initiative_ids
    window_end = scope.until + AHEAD
    events = (await session.scalars(select(Event).where(
        Event.initiative_id.in_(ids), Event.status == "scheduled", Event.starts_at < window_end))).all()
    coming = sorted(((starts[0], event) for event in events
                     if (starts := starts_between(event, scope.until, window_end))),
                    key=lambda item: (item[0], item[1].id))
    counts = await _counts(session, [event.id for _start, event in coming])
    for start, event in coming:
        line = _("Event #{number} {title}, {when}: {going} going, {maybe} maybe").format(
            number=event.number, title=event.title, when=format_moment(start, scope.tz),
            going=format_number(counts[event.id][GOING]), maybe=format_number(counts[event.id][MAYBE]))
        if event.capacity is not None:
            left = max(0, event.capacity - counts[event.id][GOING])
            line += " · " + ngettext("{count} place left", "{count} places left", left).format(count=left)
        lines.append(line)
    meets = (await session.scalars(select(Meet).where(Meet.initiative_id.in_(ids), Meet.status == "open")
                                   .order_by(Meet.number))).all()
    if meets:
        answered = await _answered(session, [meet.id for meet in meets])
        for meet in meets:
            count = answered.get(meet.id, 0)
            if meet.closes_at is not None:
                lines.append(ngettext("Date poll #{number} {title}: open until {when}, {count} person answered",
                                      "Date poll #{number} {title}: open until {when}, {count} people answered",
                                      count).format(number=meet.number, title=meet.title, count=format_number(count),
                                                    when=format_moment(meet.closes_at, scope.tz)))
            else:
                lines.append(ngettext("Date poll #{number} {title}: still open, {count} person answered",
                                      "Date poll #{number} {title}: still open, {count} people answered",
                                      count).format(number=meet.number, title=meet.title, count=format_number(count)))
    return lines


CALENDAR_FIELDS = (
    ("UID", "The event's stable identifier; the same in every copy and every change."),
    ("SEQUENCE", "Goes up by one each time the event is moved or cancelled."),
    ("SUMMARY", "The event's title, as its organisers wrote it."),
    ("DTSTART", "When the event (or a series' first date) starts, in the initiative's time zone (TZID)."),
    ("DTEND", "When that first date ends."),
    ("RRULE", "How a recurring event repeats, if it does."),
    ("LOCATION", "Where the event takes place, if the organisers said."),
    ("GEO", "The place's latitude and longitude, if shared."),
    ("STATUS", "CONFIRMED, or CANCELLED for a cancelled event."),
)
EVENT_COLUMNS = (
    ("event", "The event's number in its initiative."),
    ("title", "The event's title, as its organisers wrote it."),
    ("starts_utc", "When the event (or a recurring event's first date) starts, in UTC (ISO 8601)."),
    ("timezone", "The initiative's time zone (IANA name), in which a recurring event keeps its time of day."),
    ("duration_minutes", "How long the event lasts, in minutes."),
    ("recurrence", "How the event repeats, RRULE-like (e.g. FREQ=WEEKLY;BYDAY=SA;UNTIL=20270331, a local "
                   "date); empty for a one-off event."),
    ("place", "Where the event takes place, if the organisers said."),
    ("latitude", "The place's latitude, if shared."),
    ("longitude", "The place's longitude, if shared."),
    ("capacity", "How many may say they go; empty when there is no limit."),
    ("status", "scheduled or cancelled."),
    ("going", "How many said they go (for all dates of a recurring event)."),
    ("maybe", "How many said maybe."),
    ("not_going", "How many said they do not go."),
    ("created_utc", "When the event was planned, in UTC (ISO 8601)."),
)
RSVP_COLUMNS = (
    ("event", "The event's number in its initiative (see events.csv)."),
    ("person", "A pseudonym, the same for one person across this initiative's files."),
    ("answer", "going, maybe or not_going."),
    ("answered_utc", "When the person last gave or changed their answer, in UTC (ISO 8601)."),
)


async def exports(session: AsyncSession, secret: str, initiative_id: int) -> list[Export]:
    events = (await session.scalars(select(Event).where(Event.initiative_id == initiative_id)
                                    .order_by(Event.number))).all()
    name = await session.scalar(select(Initiative.name).where(Initiative.id == initiative_id))
    counts = await _counts(session, [event.id for event in events])
    event_rows = [(event.number, event.title, utc_text(event.starts_at), event.timezone, event.duration_minutes,
                   event.rule or "", event.place or "", "" if event.latitude is None else event.latitude,
                   "" if event.longitude is None else event.longitude,
                   "" if event.capacity is None else event.capacity, event.status, counts[event.id][GOING],
                   counts[event.id][MAYBE], counts[event.id][NOT_GOING], utc_text(event.created_at))
            for event in events]
    numbers = {event.id: event.number for event in events}
    rsvps = (await session.execute(select(Rsvp.event_id, Rsvp.user_id, Rsvp.answer, Rsvp.answered_at)
                                   .where(Rsvp.event_id.in_(list(numbers))))).all()
    rsvp_rows = [(numbers[event_id], pseudonym(secret, initiative_id, user_id),
                  ANSWER_CODES.get(answer, str(answer)), utc_text(answered_at))
                 for event_id, user_id, answer, answered_at in sorted(
                     rsvps, key=lambda row: (numbers[row[0]], row[3], row[1]))]
    return [
        Export("events.ics", "events.ics", "text/calendar; charset=utf-8",
               feed([ics(event) for event in events], name or ""),
               _("Events as a calendar file (iCalendar), cancelled ones marked"), CALENDAR_FIELDS),
        Export("events.csv", "events.csv", "text/csv; charset=utf-8",
               csv_file([column for column, _doc in EVENT_COLUMNS], event_rows),
               _("Events: dates, places and how many said they go"), EVENT_COLUMNS),
        Export("event-rsvps.csv", "event-rsvps.csv", "text/csv; charset=utf-8",
               csv_file([column for column, _doc in RSVP_COLUMNS], rsvp_rows),
               _("Answers to events, by pseudonym"), RSVP_COLUMNS),
    ]
