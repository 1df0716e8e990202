"""Reading ``/meet``, ``/event``, ``/answer`` and ``/rsvp``: every problem is a translated ``UserError``
before anything is stored."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.errors import UserError
from bot.geo import Point, read_point
from bot.i18n import _
from bot.recurrence import Rule, parse_when
from bot.when import parse_lead_times, plain, read_moment
from bot.words import leading_number

MAX_TITLE = 200
MAX_PLACE = 200
MAX_SLOTS = 10
MAX_CAPACITY = 100_000
DEFAULT_DURATION = timedelta(hours=2)
MAX_DURATION = timedelta(days=7)
MAX_AHEAD = timedelta(days=2 * 366)

# Answers to a slot and to an event, in any of our languages (accents optional).
YES, IF_NEED, NO = 1, 2, 3
_SLOT_WORDS = {
    YES: {"yes", "y", "si", "ja", "1", "ok"},
    IF_NEED: {"maybe", "ifneedbe", "if need be", "?", "forse", "quizas", "talvez", "varbut", "ja vajag", "2"},
    NO: {"no", "n", "ne", "nav", "x", "0", "3"},
}
GOING, MAYBE, NOT_GOING = 1, 2, 3
_RSVP_WORDS = {
    GOING: {"going", "yes", "y", "si", "vengo", "voy", "ja", "nakšu", "naksu", "1"},
    MAYBE: {"maybe", "forse", "quizas", "talvez", "varbut", "2", "?"},
    NOT_GOING: {"no", "not going", "n", "non vengo", "no voy", "ne", "nenakšu", "nenaksu", "3"},
}
_CLOSES = {"closes", "close", "chiude", "cierra", "beidzas"}
_CAPACITY = {"capacity", "max", "places", "posti", "plazas", "cupo", "vietas"}
_REMIND = {"remind", "reminders", "promemoria", "recordatorios", "atgadinajumi"}


@dataclass(frozen=True, slots=True)
class MeetDraft:
    title: str
    slots: tuple[datetime, ...]
    duration: timedelta
    closes_at: datetime | None


@dataclass(frozen=True, slots=True)
class EventDraft:
    title: str
    start: datetime
    rule: Rule | None
    duration: timedelta
    place: str | None
    point: Point | None
    capacity: int | None
    reminders: str | None


def meet_example() -> str:
    return _("For example: /meet Team meeting | Sat 10:00 | Sun 15:00 | Mon 18:30 | closes tomorrow 20:00")


def event_example() -> str:
    return _("For example: /event Clean-up | 2026-12-05 10:00 | 2h | Park gate, or with “every Saturday 10:00” "
             "as its time")


def parse_meet(args: str, tz: ZoneInfo, now: datetime | None = None) -> MeetDraft:
    now = now or datetime.now(UTC)
    parts = _parts(args)
    if len(parts) < 3:
        raise UserError(_("Give a title and at least two times, separated by “|”.") + "\n" + meet_example())
    title = check_title(parts[0])
    closes_at: datetime | None = None
    duration = DEFAULT_DURATION
    slots: list[datetime] = []
    for part in parts[1:]:
        head, _sep, rest = part.partition(" ")
        if plain(head) in _CLOSES and rest:
            closes_at = _moment(rest, tz, now)
            continue
        if (length := _duration(part)) is not None:
            duration = length
            continue
        slots.append(_moment(part, tz, now))
    if len(slots) < 2:
        raise UserError(_("A date poll needs at least two times to choose from.") + "\n" + meet_example())
    if len(slots) > MAX_SLOTS:
        raise UserError(_("A date poll can offer at most {count} times.").format(count=MAX_SLOTS))
    if len(set(slots)) < len(slots):
        raise UserError(_("The same time is offered twice."))
    if closes_at is not None and closes_at >= min(slots):
        raise UserError(_("The poll must close before the first time it offers."))
    return MeetDraft(title, tuple(slots), duration, closes_at)


def parse_event(args: str, tz: ZoneInfo, now: datetime | None = None) -> EventDraft:
    now = now or datetime.now(UTC)
    parts = _parts(args)
    if len(parts) < 2:
        raise UserError(_("Give a title and a time, separated by “|”.") + "\n" + event_example())
    title = check_title(parts[0])
    start, rule = parse_when(parts[1], tz, now)
    if start - now > MAX_AHEAD:
        raise UserError(_("An event can be at most two years ahead."))
    duration, capacity, reminders = DEFAULT_DURATION, None, None
    place: str | None = None
    point: Point | None = None
    for part in parts[2:]:
        head, _sep, rest = part.partition(" ")
        if (length := _duration(part)) is not None:
            duration = length
        elif (counted := _capacity(part)) is not None:
            capacity = counted
            if not 1 <= capacity <= MAX_CAPACITY:
                raise UserError(_("The number of places must be between 1 and {limit}.").format(limit=MAX_CAPACITY))
        elif plain(head) in _REMIND and rest:
            reminders = parse_lead_times(rest)
        elif place is None and point is None:
            if len(part) > MAX_PLACE:
                raise UserError(_("The place is {length} characters long; the limit is {limit}.").format(
                    length=len(part), limit=MAX_PLACE))
            words, point = read_point(part)
            place = words or None
        else:
            raise UserError(_("I did not understand “{part}”.").format(part=part[:60]) + "\n" + event_example())
    return EventDraft(title, start, rule, duration, place, point, capacity, reminders)


def parse_reschedule(args: str, tz: ZoneInfo, now: datetime | None = None) -> tuple[int, datetime, Rule | None,
                                                                                     timedelta | None]:
    number, rest = parse_number(args, "reschedule")
    parts = _parts(rest)
    if not parts:
        raise UserError(_("Write the event's number and its new time, for example: /reschedule 3 2026-12-12 10:00"))
    start, rule = parse_when(parts[0], tz, now or datetime.now(UTC))
    duration = _duration(parts[1]) if len(parts) > 1 else None
    return number, start, rule, duration


def parse_number(args: str, command: str) -> tuple[int, str]:
    found = leading_number(args)
    if found is None:
        raise UserError(_("Write the number after the command, for example: /{command} 1").format(command=command))
    return found


def slot_answers(words: str, count: int) -> list[int | None]:
    """``yes no maybe`` → one answer per slot (``-`` leaves a slot unanswered)."""
    typed = words.replace(",", " ").split()
    if len(typed) != count:
        raise UserError(_("Answer each of the {count} times in order with yes, maybe or no, for example: "
                          "/answer 1 yes no maybe").format(count=count))
    answers: list[int | None] = []
    for word in typed:
        found = None if word == "-" else _word(word, _SLOT_WORDS, {YES: _("yes"), IF_NEED: _("maybe"), NO: _("no")})
        if found is None and word != "-":
            raise UserError(_("“{word}” is not an answer: write yes, maybe or no.").format(word=word[:20]))
        answers.append(found)
    return answers


def rsvp_answer(word: str) -> int:
    found = _word(word, _RSVP_WORDS, {GOING: _("going"), MAYBE: _("maybe"), NOT_GOING: _("not going")})
    if found is None:
        raise UserError(_("Answer going, maybe or no, for example: /rsvp 1 going"))
    return found


def _word(word: str, table: dict[int, set[str]], translated: dict[int, str]) -> int | None:
    typed = plain(word.strip())
    for value, words in table.items():
        if typed in words or typed == plain(translated[value]):
            return value
    return None


def _parts(args: str) -> list[str]:
    return [" ".join(part.split()) for part in args.split("|") if part.strip()]


def check_title(text: str) -> str:
    text = " ".join(text.split())
    if not text:
        raise UserError(_("The title is empty."))
    if len(text) > MAX_TITLE:
        raise UserError(_("The title is {length} characters long; the limit is {limit}.").format(
            length=len(text), limit=MAX_TITLE))
    return text


def _moment(text: str, tz: ZoneInfo, now: datetime) -> datetime:
    found = read_moment(text, tz, now)
    if found is None:
        raise UserError(_("I could not read the time “{text}”. Write for example “Sat 10:00”, “tomorrow 18:00” "
                          "or “2026-12-05 10:00”.").format(text=text[:60]))
    if found <= now:
        raise UserError(_("“{text}” is in the past.").format(text=text[:60]))
    if found - now > MAX_AHEAD:
        raise UserError(_("An event can be at most two years ahead."))
    return found.astimezone(UTC)


def _capacity(text: str) -> int | None:
    """``capacity 20``, ``posti 20`` or ``20 posti``: the number of places, or None when ``text`` is not one."""
    words = plain(text).split()
    if len(words) != 2:
        return None
    number = words[1] if words[0] in _CAPACITY else words[0] if words[1] in _CAPACITY else ""
    return int(number) if number.isdigit() and len(number) < 10 else None


def _duration(text: str) -> timedelta | None:
    """``2h``, ``90 min``, ``1h30``, ``1.5h``: a length, or None when ``text`` is not one."""
    typed = plain(text).replace(" ", "")
    match = re.fullmatch(r"(?:(\d{1,3}(?:[.,]\d)?)(?:h|hours?|ore|ora|horas?|st|stundas?|stunda))?"
                         r"(?:(\d{1,4})(?:m|min|minutes?|minut[io]|minutos?|minutas?|minute)?)?", typed)
    if not typed or match is None or not any(match.groups()):
        return None
    hours = float((match.group(1) or "0").replace(",", "."))
    minutes = int(match.group(2) or 0)
    if match.group(1) is None and not re.search(r"[a-z]", typed):
        return None  # a bare number is not a length
    length = timedelta(hours=hours, minutes=minutes)
    if not timedelta(minutes=5) <= length <= MAX_DURATION:
        raise UserError(_("An event lasts from 5 minutes to 7 days."))
    return length
