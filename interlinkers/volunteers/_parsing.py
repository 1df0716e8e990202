"""Reading ``/shift``: a title, a day with one or more hour ranges (or a repetition), the number of places,
then optionally the place (with a point) and a role. Every problem is a translated ``UserError`` before
anything is stored."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot import recurrence
from bot.errors import UserError
from bot.geo import Point, read_point
from bot.i18n import _
from bot.words import leading_number

MAX_TITLE = 200
MAX_PLACE = 200
MAX_ROLE = 100
MAX_PLACES = 1000
MAX_SHIFTS = 12  # planned by one /shift (several hour ranges, or a repetition): the next ones, the rest later
OPEN_ENDED = 4  # occurrences planned for a repetition without an end
_RANGE = re.compile(r"(?<![\d:.])(\d{1,2})[:.](\d{2})\s*[-–—]\s*(\d{1,2})[:.](\d{2})(?![\d:.])")
_JOINERS = re.compile(r"[,;+]|\b(?:and|e|y|un)\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ShiftDraft:
    title: str
    spans: tuple[tuple[datetime, datetime], ...]  # (start, end), aware, in time order
    capacity: int
    place: str | None
    point: Point | None
    role: str | None
    more: bool  # a repetition with more occurrences than planned at once: only the next ones were planned


def shift_example() -> str:
    return _("For example: /shift Food bank | 2026-12-05 09:00-12:00 | 6 | Via Roma 1 | driver")


def parse_shift(args: str, tz: ZoneInfo, now: datetime | None = None) -> ShiftDraft:
    now = now or datetime.now(UTC)
    parts = [" ".join(part.split()) for part in args.split("|")]
    while parts and not parts[-1]:
        parts.pop()  # an empty place or role in the middle ("| | driver") stays empty, trailing ones go
    if len(parts) < 3 or not all(parts[:3]):
        raise UserError(_("Give a title, the day with its hours and the number of places, separated by “|”.")
                        + "\n" + shift_example())
    title = check_title(parts[0])
    spans, more = _spans(parts[1], tz, now)
    capacity = _places(parts[2])
    place: str | None = None
    point: Point | None = None
    if len(parts) > 3 and parts[3]:
        words, point = read_point(_limited(parts[3], MAX_PLACE, _("The place")))
        place = words or None
    role = _limited(parts[4], MAX_ROLE, _("The role")) if len(parts) > 4 and parts[4] else None
    if len(parts) > 5:
        raise UserError(_("I did not understand “{part}”.").format(part=parts[5][:60]) + "\n" + shift_example())
    return ShiftDraft(title, spans, capacity, place, point, role, more)


def check_title(text: str) -> str:
    title = " ".join(text.split())
    if not title:
        raise UserError(_("The title is empty."))
    return _limited(title, MAX_TITLE, _("The title"))


def _spans(text: str, tz: ZoneInfo, now: datetime) -> tuple[tuple[tuple[datetime, datetime], ...], bool]:
    """``2026-12-05 09:00-12:00, 14:00-17:00`` or ``every Saturday 09:00-12:00 until March``."""
    ranges = _RANGE.findall(text)
    if not ranges:
        raise UserError(_("Write the hours as a range, for example “2026-12-05 09:00-12:00” (several: "
                          "“09:00-12:00, 14:00-17:00”)."))
    # Each range is read on its own: its start written where the ranges were, so "every Saturday 09:00-11:00,
    # 14:00-16:00 until March" reads as "every Saturday 09:00 until March", then "... 14:00 until March".
    first_range = _RANGE.search(text)
    assert first_range is not None
    before, after = text[: first_range.start()], _JOINERS.sub(" ", _RANGE.sub(" ", text[first_range.end():]))
    spans: list[tuple[datetime, datetime]] = []
    more = False
    for from_h, from_m, to_h, to_m in ranges:
        if int(from_h) > 23 or int(to_h) > 24 or int(from_m) > 59 or int(to_m) > 59:
            raise UserError(_("“{hours}” is not a time of day.").format(hours=f"{from_h}:{from_m}-{to_h}:{to_m}"))
        first, rule = recurrence.parse_when(" ".join(f"{before} {from_h}:{from_m} {after}".split()), tz, now)
        length = _length(int(from_h), int(from_m), int(to_h), int(to_m))
        if rule is None:
            starts = [first]
        else:
            limit = OPEN_ENDED if rule.until is None else MAX_SHIFTS
            starts = recurrence.occurrences(first, rule, tz, now, limit + 1)
            more = more or len(starts) > limit
            starts = starts[:limit]
        spans.extend((start.astimezone(UTC), (start + length).astimezone(UTC)) for start in starts)
    if len({start for start, _end in spans}) < len(spans):
        raise UserError(_("The same hours are given twice."))
    spans.sort()
    return tuple(spans[:MAX_SHIFTS]), more or len(spans) > MAX_SHIFTS


def _length(from_h: int, from_m: int, to_h: int, to_m: int) -> timedelta:
    """From one time of day to the next (past midnight for a night shift): 22:00-02:00 is 4 hours."""
    minutes = (to_h * 60 + to_m) - (from_h * 60 + from_m)
    if minutes <= 0:
        minutes += 24 * 60
    if minutes < 15:
        raise UserError(_("A shift lasts at least 15 minutes."))
    return timedelta(minutes=minutes)


def _places(text: str) -> int:
    found = re.fullmatch(r"\D{0,20}?(\d{1,6})\D{0,20}", text)
    if found is None or not 1 <= int(found.group(1)) <= MAX_PLACES:
        raise UserError(_("Write the number of places, from 1 to {limit}, for example: 6").format(limit=MAX_PLACES))
    return int(found.group(1))


def _limited(text: str, limit: int, what: str) -> str:
    if len(text) > limit:
        raise UserError(_("{what} is {length} characters long; the limit is {limit}.").format(
            what=what, length=len(text), limit=limit))
    return text


def parse_number(args: str, command: str) -> tuple[int, str]:
    found = leading_number(args)
    if found is None:
        raise UserError(_("Write the shift's number after the command, for example: /{command} 1").format(
            command=command))
    return found
