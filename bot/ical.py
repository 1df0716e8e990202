""".ics files every calendar app reads: one invite (METHOD REQUEST or CANCEL) and a subscription feed
(METHOD PUBLISH), written with icalendar.

Only what the event says goes in: title, time, place, description, never who organises or attends (the
file is forwarded and synced beyond the group). Each zone used gets its VTIMEZONE, so apps that ignore IANA
names still put a recurring 10:00 at 10:00 after a DST change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event
from icalendar.enums import STATUS

from bot.recurrence import Rule, to_rrule

PRODID = "-//INTERLINK//Interlink bot//EN"
METHODS = ("REQUEST", "CANCEL", "PUBLISH")
_OPEN_ENDED_YEARS = 10  # VTIMEZONE transitions written ahead for a repetition without an end
_REFRESH = timedelta(hours=1)  # how often subscribed apps should fetch a feed again


@dataclass(frozen=True, slots=True)
class IcsEvent:
    """One event as calendars see it; ``uid`` stays the same and ``sequence`` goes up on every change, so
    apps update the copy they have instead of adding another."""

    uid: str  # stable, e.g. "event-12-<initiative>@interlink"
    sequence: int  # raised on every change
    title: str
    start: datetime  # aware
    duration: timedelta
    tz: str  # IANA zone, e.g. "Europe/Rome"; DTSTART is written with this TZID
    place: str | None = None
    geo: tuple[float, float] | None = None  # GEO: latitude, longitude
    description: str | None = None
    rule: Rule | None = None  # RRULE when recurring
    cancelled: bool = False  # STATUS:CANCELLED
    stamp: datetime | None = None  # DTSTAMP (default: now, UTC)


def invite(event: IcsEvent, method: str = "REQUEST") -> bytes:
    """One event to send or attach: METHOD REQUEST, or CANCEL (which always marks it cancelled)."""
    if method not in METHODS:
        raise ValueError(f"unknown METHOD {method!r}")
    return _calendar([event], method, cancel=method == "CANCEL")


def feed(events: Sequence[IcsEvent], name: str) -> bytes:
    """A subscription feed of ``events`` (cancelled ones stay, marked, so apps remove their copy)."""
    return _calendar(events, "PUBLISH", name=name)


def _calendar(events: Sequence[IcsEvent], method: str, *, name: str | None = None, cancel: bool = False) -> bytes:
    calendar = Calendar.new(prodid=PRODID, method=method, name=name)
    calendar.pop("UID", None)  # icalendar adds a random one: same events, same bytes (ETags, tests)
    if name is not None:
        calendar.add("REFRESH-INTERVAL", _REFRESH, parameters={"VALUE": "DURATION"})
        calendar.add("X-PUBLISHED-TTL", _REFRESH)
    for event in events:
        calendar.add_component(_vevent(event, cancel=cancel))
    if events:
        first, last = _span(events)
        calendar.add_missing_timezones(first_date=first, last_date=last)
    ical: bytes = calendar.to_ical()
    return ical


def _vevent(event: IcsEvent, *, cancel: bool) -> Event:
    if event.start.tzinfo is None:
        raise ValueError("an event's start must be aware")
    zone = ZoneInfo(event.tz)
    start = event.start.astimezone(zone)
    vevent = Event.new(
        uid=event.uid,
        sequence=event.sequence,
        summary=event.title,
        start=start,
        # Wall-time arithmetic in the zone, as apps do with DTSTART + DURATION.
        end=start + event.duration,
        stamp=(event.stamp or datetime.now(UTC)).astimezone(UTC),
        location=event.place or None,
        description=event.description or None,
        status=STATUS.CANCELLED if event.cancelled or cancel else STATUS.CONFIRMED,
    )
    if event.rule is not None:
        vevent.add("RRULE", to_rrule(event.rule, zone))
    if event.geo is not None:
        vevent.add("GEO", event.geo)
    return vevent


def _span(events: Sequence[IcsEvent]) -> tuple[date, date]:
    """The dates the VTIMEZONEs must cover: from the earliest start to the last occurrence's end (some years
    ahead for a repetition without an end)."""
    first = min(event.start.astimezone(ZoneInfo(event.tz)).date() for event in events) - timedelta(days=1)
    last = first
    for event in events:
        start = event.start.astimezone(ZoneInfo(event.tz))
        end = (start + event.duration).date()
        if event.rule is not None:
            end = event.rule.until or start.date().replace(year=start.year + _OPEN_ENDED_YEARS, day=1)
        last = max(last, end + timedelta(days=2))
    return first, last


__all__ = ["METHODS", "PRODID", "IcsEvent", "feed", "invite"]
