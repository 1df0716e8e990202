"""When an event happens, typed naturally: one moment ("tomorrow 18:00") or a repetition ("every Saturday
10:00 until March", "primo lunedì del mese 18:00", "katru sestdienu 10:00"), in any of our languages whatever
the reader's (groups are mixed).

Repetitions are expanded in local wall time and only then given the zone, so an event at 10:00 stays at 10:00
across a DST change; the same rule is written to .ics files as an RRULE and stored as a short RRULE-like text.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from babel.dates import get_day_names, get_month_names
from dateutil import rrule as _rr  # type: ignore[import-untyped]  # no stubs; rrule is all we use

from bot.errors import UserError
from bot.i18n import N_, _, current_locale, format_long_date, format_moment, ngettext
from bot.when import IN_WORDS, LANGUAGES, plain, read_moment

FREQUENCIES = ("daily", "weekly", "monthly")
_ORDINALS = (1, 2, 3, 4, -1)
_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")  # RFC 5545 weekday codes, Monday first like date.weekday()
_RRULE_FREQ = {"daily": _rr.DAILY, "weekly": _rr.WEEKLY, "monthly": _rr.MONTHLY}


@dataclass(frozen=True, slots=True)
class Rule:
    """How an event repeats; the time of day and, for monthly rules without a weekday, the day of the month
    come from the first occurrence (as DTSTART does in an RRULE)."""

    freq: str  # "daily" | "weekly" | "monthly"
    interval: int = 1  # every 2 weeks -> 2
    weekday: int | None = None  # 0=Monday .. 6=Sunday
    ordinal: int | None = None  # monthly: 1..4 or -1 (last) with weekday; None: same day of month as the first
    until: date | None = None  # last local date included

    def __post_init__(self) -> None:
        # A rule is stored and written to calendars: refuse shapes that would mean something else there.
        if self.freq not in FREQUENCIES:
            raise ValueError(f"unknown frequency {self.freq!r}")
        if self.interval < 1:
            raise ValueError("interval must be at least 1")
        if self.weekday is not None and not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday out of range: {self.weekday}")
        if self.weekday is not None and self.freq == "daily":
            raise ValueError("a daily rule has no weekday")
        if self.ordinal is not None and (
            self.ordinal not in _ORDINALS or self.freq != "monthly" or self.weekday is None or self.interval != 1
        ):
            raise ValueError("an ordinal needs a monthly rule, every month, with a weekday")
        if self.weekday is not None and self.freq == "monthly" and self.ordinal is None:
            raise ValueError("a monthly rule with a weekday needs an ordinal")


# --- Vocabulary, compared in plain() form (lower case, no accents) ---------------------------------------------

_EVERY = {"every", "each", "ogni", "tutti", "tutte", "cada", "todos", "todas", "katru", "katra", "katrs", "katram",
          "ik"}
_ADVERBS = {"daily": "day", "weekly": "week", "monthly": "month", "quotidianamente": "day", "settimanalmente": "week",
            "mensilmente": "month", "diariamente": "day", "semanalmente": "week", "mensualmente": "month",
            "katrdien": "day"}
_UNITS = {
    "day": {"day", "days", "giorno", "giorni", "dia", "dias", "diena", "dienu", "dienas", "dienam"},
    "week": {"week", "weeks", "settimana", "settimane", "semana", "semanas", "nedela", "nedelu", "nedelas",
             "nedelam", "nedelai"},
    "month": {"month", "months", "mese", "mesi", "mes", "meses", "menesis", "menesi", "menesa", "menesus",
              "menesiem"},
}
# Ordinals: "first Monday of the month"; from 2 up they also say "every second week".
_ORDINAL_WORDS = {
    1: {"first", "primo", "prima", "primer", "primero", "primera", "pirma", "pirmaja", "pirmais"},
    2: {"second", "secondo", "seconda", "segundo", "segunda", "otra", "otraja", "otrais"},
    3: {"third", "terzo", "terza", "tercer", "tercero", "tercera", "tresa", "tresaja", "tresais"},
    4: {"fourth", "quarto", "quarta", "cuarto", "cuarta", "ceturta", "ceturtaja", "ceturtais"},
    -1: {"last", "ultimo", "ultima", "pedeja", "pedejaja", "pedejais"},
}
_ENGLISH_ORDINALS = ("first", "second", "third", "fourth")  # what "1st", "2º", "3ª" are read as
# Counts: "every 2 weeks" is also "every other week", "ogni due settimane", "katru otro nedēļu".
_COUNT_WORDS = {"other": 2, "two": 2, "three": 3, "four": 4, "due": 2, "tre": 3, "quattro": 4, "dos": 2, "tres": 3,
                "cuatro": 4, "otro": 2, "otru": 2, "treso": 3, "ceturto": 4, "divas": 2, "divam": 2, "divi": 2,
                "tris": 3, "trim": 3}
# Words that carry no meaning here: articles, "of the", "at", "on", "o'clock".
_FILLER = {"on", "at", "the", "of", "a", "an", "and", "in", "il", "lo", "la", "i", "gli", "le", "di", "del", "della",
           "dello", "dei", "delle", "al", "alle", "all", "alla", "ore", "e", "el", "los", "las", "de", "en", "y",
           "plkst", "un", "pec"}
_NOON = {"noon", "midday", "mezzogiorno", "mediodia", "pusdiena", "pusdienlaika"}
_UNTIL_WORDS = r"until|till|til|through|thru|fino|hasta|lidz"
_UNTIL_FILLER = {"the", "end", "of", "a", "al", "alla", "all", "il", "fine", "di", "el", "la", "de", "del", "fin",
                 "finales", "gada", "beigam", "beigas", "mid", "to"}
# "10:00", "10.00", "6pm", "6:30 pm", "18h": a time of day; a bare number is one unless a unit follows it.
# A dotted pair inside a date ("05.12.2026") is no time.
_CLOCK = re.compile(r"\b(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm)\b|(?<![\d.:/-])(\d{1,2})[:.](\d{2})(?!\d|[.:/-]\d)"
                    r"|\b(\d{1,2})h\b")
# Time words that make the next bare number an hour in a one-off: "domani alle 18", "a las 18", "plkst. 18".
_AT_HOUR = re.compile(r"\b(?:at|alle|all|ore|a las|a la|plkst)\s*\.?\s*(\d{1,2})(?::(\d{2}))?\b(?![:.\d])")


@cache
def _weekday_words() -> dict[str, int]:
    """Every form of a weekday name we read: Babel's names and abbreviations in our four languages, plus
    the plurals ("sábados", "saturdays") and Latvian cases ("sestdienu", "pirmdienā") Babel does not list."""
    words: dict[str, int] = {}
    for code in LANGUAGES:
        for width in ("wide", "abbreviated"):
            for context in ("format", "stand-alone"):
                for day, name in get_day_names(width, context=context, locale=code).items():
                    word = plain(name).rstrip(".")
                    if len(word) >= 3:
                        words[word] = day
        for day, name in get_day_names("wide", locale=code).items():
            word = plain(name)
            if code in ("en", "es") and not word.endswith("s"):
                words[word + "s"] = day
            if code == "lv":  # sestdiena: sestdien, sestdienu, sestdienā, sestdienās, sestdienām
                for ending in ("", "a", "u", "as", "am", "ai"):
                    words[word[:-1] + ending] = day
    words.update({"sabati": 5, "domeniche": 6})
    return words


@cache
def _month_words() -> dict[str, int]:
    """Every form of a month name we read for "until March": Babel's, plus Latvian dative and genitive
    ("līdz martam", "līdz marta beigām")."""
    words: dict[str, int] = {}
    for code in LANGUAGES:
        for width in ("wide", "abbreviated"):
            for context in ("format", "stand-alone"):
                for month, name in get_month_names(width, context=context, locale=code).items():
                    word = plain(name).rstrip(".")
                    if len(word) >= 3:
                        words[word] = month
        if code == "lv":
            for month, name in get_month_names("wide", locale=code).items():
                word = plain(name)
                stem, dative = (word[:-2], "im") if word.endswith("is") else (word[:-1], "am")
                words[stem + dative] = month
                words[stem + "a"] = month
    return words


def _ordinal_of(word: str) -> int | None:
    return next((number for number, words in _ORDINAL_WORDS.items() if word in words), None)


def _unit_of(word: str) -> str | None:
    return next((unit for unit, words in _UNITS.items() if word in words), None)


# --- Errors ------------------------------------------------------------------------------------------------------


def _unreadable() -> UserError:
    return UserError(_("I could not read when it is. Write for example “2026-12-05 10:00”, “tomorrow 18:00” or "
                       "“every Saturday 10:00”."))


def _no_time() -> UserError:
    return UserError(_("Say at what time, for example “every Saturday 10:00”."))


# --- Reading -----------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Reading:
    """What the words of a repetition said, before the calendar turns them into a first start."""

    every: bool = False
    unit: str | None = None
    count: int | None = None
    ordinal: int | None = None
    weekday: int | None = None
    clock: tuple[int, int] | None = None


def parse_when(text: str, tz: ZoneInfo, now: datetime) -> tuple[datetime, Rule | None]:
    """The first start (aware, in ``tz``, after ``now``) and the repetition (None for a one-off) that
    ``text`` names; a UserError, in the reader's language, says what is wrong otherwise."""
    words = " ".join(text.split())
    if not words:
        raise _unreadable()
    flat = plain(words).replace("’", " ").replace("'", " ")
    until_word = re.search(rf"\b(?:{_UNTIL_WORDS})\b", flat)
    body, until_text = (flat[: until_word.start()], flat[until_word.end():]) if until_word else (flat, None)
    reading = _read_repetition(body)
    if reading is None:
        return _one_off(words, tz, now), None
    rule, clock = _rule_of(reading)
    first = _first_start(rule, clock, tz, now)
    if rule.freq == "weekly" and rule.weekday is None:
        rule = replace(rule, weekday=first.weekday())  # "every week": on the day it starts
    if until_text is not None:
        until = _read_until(until_text, tz, now)
        if until < first.date():
            raise UserError(_("It would stop on {until}, before it even starts on {first}.").format(
                until=format_long_date(until),
                first=format_moment(first, tz, year=True)))
        rule = replace(rule, until=until)
    return first, rule


def _one_off(words: str, tz: ZoneInfo, now: datetime) -> datetime:
    flat = plain(words)
    clock = _clock_in(flat)
    moment = _own_reading(flat, clock, tz, now) or read_moment(words, tz, now)
    if moment is None:
        raise _unreadable()
    relative = re.match(r"(\S+)\s+\d", flat) is not None and flat.split()[0] in IN_WORDS | {plain(_("in"))}
    if clock is None and not relative and not _NOON & set(re.findall(r"[a-z]+", flat)):
        raise _no_time()
    moment = moment.astimezone(tz)
    if clock is not None and not relative and (moment.hour, moment.minute) != clock:
        # The date parser keeps the current time for "domani alle 18", "a las 18", "domani 18.30": the time
        # written wins.
        moment = datetime.combine(moment.date(), time(*clock), tzinfo=tz)
    if moment <= now:
        raise UserError(_("{moment} has already passed: say a moment still to come.").format(
            moment=format_moment(moment, tz, year=True)))
    return moment


def _own_reading(flat: str, clock: tuple[int, int] | None, tz: ZoneInfo, now: datetime) -> datetime | None:
    """What the date parser gets wrong, read here: "sabato alle 10", "sestdien 10:00" (the next such day; it
    reads the first as the 10th of the month and misses the second) and "05.12.2026 10:00" (day first, as in
    all our groups; it reads month first in English)."""
    if clock is None:
        return None
    rest = _AT_HOUR.sub(" ", _CLOCK.sub(" ", flat))
    numeric = re.search(r"(?<![\d./-])(\d{1,2})[./](\d{1,2})[./](\d{4})(?![\d./-])", rest)
    if numeric:
        rest = rest[: numeric.start()] + " " + rest[numeric.end():]
    tokens = [token for token in re.findall(r"\d+|[^\W\d_]+", rest) if token not in _FILLER]
    if numeric and not tokens:
        try:
            day = date(int(numeric[3]), int(numeric[2]), int(numeric[1]))
        except ValueError:
            raise _unreadable() from None
        return datetime.combine(day, time(*clock), tzinfo=tz)
    if numeric or len(tokens) != 1 or tokens[0] not in _weekday_words():
        return None
    today = now.astimezone(tz).date()
    day = today + timedelta(days=(_weekday_words()[tokens[0]] - today.weekday()) % 7)
    moment = datetime.combine(day, time(*clock), tzinfo=tz)
    return moment if moment > now else moment + timedelta(days=7)


def _clock_in(flat: str) -> tuple[int, int] | None:
    match = _CLOCK.search(flat) or _AT_HOUR.search(flat)
    if match is None:
        return None
    return _clock_of(match)


def _clock_of(match: re.Match[str]) -> tuple[int, int]:
    groups = match.groups()
    if match.re is _AT_HOUR:
        hour, minute = int(groups[0]), int(groups[1] or 0)
    elif groups[2]:  # am / pm
        hour, minute = int(groups[0]), int(groups[1] or 0)
        if not 1 <= hour <= 12:
            raise _unreadable()
        hour = hour % 12 + (12 if groups[2] == "pm" else 0)
    elif groups[3]:
        hour, minute = int(groups[3]), int(groups[4])
    else:
        hour, minute = int(groups[5]), 0
    if hour > 23 or minute > 59:
        raise _unreadable()
    return hour, minute


def _read_repetition(body: str) -> _Reading | None:
    """The repetition's words, or None when the text names no repetition (then it is a one-off). Words we
    do not know in a repetition are refused rather than guessed at."""
    reading = _Reading()
    clocks = list(_CLOCK.finditer(body))
    if len(clocks) > 1:
        raise _unreadable()
    if clocks:
        reading.clock = _clock_of(clocks[0])
        body = body[: clocks[0].start()] + " " + body[clocks[0].end():]
    body = re.sub(r"\b([1-4])(?:st|nd|rd|th|o|a|°)(?!\w)", lambda found: _ENGLISH_ORDINALS[int(found[1]) - 1], body)
    tokens = re.findall(r"\d+|[^\W\d_]+", body)
    unknown = False
    hours: list[int] = []
    for index, token in enumerate(tokens):
        following = tokens[index + 1] if index + 1 < len(tokens) else ""
        if token.isdigit():
            if _unit_of(following) is not None:
                reading.count = int(token)
            else:
                hours.append(int(token))
        elif token in _EVERY:
            reading.every = True
        elif token in _ADVERBS:
            reading.every, reading.unit = True, _ADVERBS[token]
        elif (unit := _unit_of(token)) is not None:
            if reading.unit not in (None, unit):
                raise _unreadable()
            reading.unit = unit
        elif (ordinal := _ordinal_of(token)) is not None:
            reading.ordinal = ordinal
        elif token in _COUNT_WORDS:
            reading.count = _COUNT_WORDS[token]
        elif token in _weekday_words():
            if reading.weekday not in (None, _weekday_words()[token]):
                raise _unreadable()  # "every Monday and Thursday": two rules, not one
            reading.weekday = _weekday_words()[token]
        elif token in _NOON:
            hours.append(12)
        elif token not in _FILLER:
            unknown = True
    monthly_ordinal = reading.ordinal is not None and reading.weekday is not None and reading.unit == "month"
    if not (reading.every or monthly_ordinal):
        return None
    if unknown or len(hours) > 1 or (hours and reading.clock):
        raise _unreadable()
    if hours:
        if hours[0] > 23:
            raise _unreadable()
        reading.clock = (hours[0], 0)
    return reading


def _rule_of(reading: _Reading) -> tuple[Rule, tuple[int, int]]:
    """The rule the words describe, and the time of day (which must be said)."""
    count, ordinal = reading.count, reading.ordinal
    if ordinal is not None and not (reading.unit == "month" and reading.weekday is not None):
        if ordinal < 2 or count is not None:
            raise _unreadable()
        count, ordinal = ordinal, None  # "every second week"
    interval = count or 1
    if interval > 99:
        raise _unreadable()
    if reading.unit == "month":
        if reading.weekday is not None and ordinal is None:
            raise _unreadable()  # "every month on Monday": which Monday?
        rule = Rule("monthly", interval=interval if ordinal is None else 1, weekday=reading.weekday, ordinal=ordinal)
        if ordinal is not None and count is not None:
            raise _unreadable()
    elif reading.unit == "week" or (reading.unit is None and reading.weekday is not None):
        rule = Rule("weekly", interval=interval, weekday=reading.weekday)
    elif reading.unit == "day" and reading.weekday is None:
        rule = Rule("daily", interval=interval)
    else:
        raise _unreadable()
    if reading.clock is None:
        raise _no_time()
    return rule, reading.clock


def _first_start(rule: Rule, clock: tuple[int, int], tz: ZoneInfo, now: datetime) -> datetime:
    """The first occurrence after ``now``; a weekly rule without a day repeats on the day it starts."""
    local_now = now.astimezone(tz).replace(tzinfo=None)
    today = datetime.combine(local_now.date(), time(*clock))
    probe = replace(rule, interval=1, until=None)
    for candidate in _expand(probe, today, from_start=False):
        start = candidate.replace(tzinfo=tz)
        if start > now:
            return start
    raise AssertionError("an endless rule always has a next occurrence")  # pragma: no cover


def _read_until(text: str, tz: ZoneInfo, now: datetime) -> date:
    """The last day included: "March" is the end of the next March, "31 March" the next 31 March,
    "2027-03-31" / "31.03.2027" / "31/03/2027" that day."""
    today = now.astimezone(tz).date()
    tokens = [token for token in re.findall(r"\d+|[^\W\d_]+", text) if token not in _UNTIL_FILLER]
    iso = re.fullmatch(r"\s*(?:[^\W\d_]+\s+)*(\d{4})-(\d{1,2})-(\d{1,2})\s*", text)
    dotted = re.fullmatch(r"\s*(?:[^\W\d_]+\s+)*(\d{1,2})[./](\d{1,2})[./](\d{4})\s*", text)
    try:
        if iso:
            return date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
        if dotted:
            return date(int(dotted.group(3)), int(dotted.group(2)), int(dotted.group(1)))
    except ValueError:
        raise _bad_until() from None
    months = [_month_words()[token] for token in tokens if token in _month_words()]
    numbers = [int(token) for token in tokens if token.isdigit()]
    words = [token for token in tokens if not token.isdigit() and token not in _month_words()]
    years = [number for number in numbers if number >= 1000]
    days = [number for number in numbers if number < 1000]
    if len(months) != 1 or words or len(years) > 1 or len(days) > 1:
        raise _bad_until()
    month = months[0]
    for year in years or [today.year, today.year + 1]:
        last = calendar.monthrange(year, month)[1]
        if days and not 1 <= days[0] <= last:
            continue
        found = date(year, month, days[0] if days else last)
        if years or found >= today:
            return found
    raise _bad_until()


def _bad_until() -> UserError:
    return UserError(_("I could not read until when it repeats. Write for example “until March” or "
                       "“until 2027-03-31”."))


# --- Expanding ---------------------------------------------------------------------------------------------------


def _expand(rule: Rule, start: datetime, *, from_start: bool = True) -> Iterator[datetime]:
    """Naive local starts from ``start``, as dateutil's rrule counts them; ``start`` itself is one when it is
    the first occurrence (``from_start``), else only if the rule picks it."""
    options: dict[str, object] = {"dtstart": start, "interval": rule.interval}
    if rule.weekday is not None:
        day = _rr.weekdays[rule.weekday]
        options["byweekday"] = day(rule.ordinal) if rule.ordinal is not None else day
    if rule.until is not None:
        options["until"] = datetime.combine(rule.until, time.max)
    recurrence = _rr.rruleset()
    recurrence.rrule(_rr.rrule(_RRULE_FREQ[rule.freq], **options))
    if from_start:
        recurrence.rdate(start)  # DTSTART is always the first instance (RFC 5545), even if the rule would skip it
    found: Iterator[datetime] = iter(recurrence)
    return found


def occurrences(first: datetime, rule: Rule | None, tz: ZoneInfo, after: datetime, limit: int = 50) -> list[datetime]:
    """The starts strictly after ``after`` (at most ``limit``), aware in ``tz``: counted in local wall time so
    10:00 stays 10:00 across DST changes."""
    if rule is None:
        return [first.astimezone(tz)] if first > after and limit > 0 else []
    local_first = first.astimezone(tz).replace(tzinfo=None)
    # Skip whole stretches cheaply; a day's margin covers the hour that repeats when clocks go back.
    skip_to = after.astimezone(tz).replace(tzinfo=None) - timedelta(days=1)
    found: list[datetime] = []
    for candidate in _expand(rule, local_first):
        if len(found) >= limit:
            break
        if candidate < skip_to:
            continue
        start = candidate.replace(tzinfo=tz)
        if start > after:
            found.append(start)
    return found


# --- Writing -----------------------------------------------------------------------------------------------------


def to_rrule(rule: Rule, tz: ZoneInfo | None = None) -> dict[str, object]:
    """The rule as icalendar's ``vRecur`` wants it. With DTSTART in a zone, RFC 5545 wants UNTIL in UTC: the
    end of the last day in ``tz`` (in UTC when no zone is given)."""
    recur: dict[str, object] = {"FREQ": rule.freq.upper()}
    if rule.interval != 1:
        recur["INTERVAL"] = rule.interval
    if rule.weekday is not None:
        recur["BYDAY"] = f"{rule.ordinal or ''}{_CODES[rule.weekday]}"
    if rule.until is not None:
        end = datetime.combine(rule.until, time(23, 59, 59), tzinfo=tz or UTC)
        recur["UNTIL"] = end.astimezone(UTC)
    return recur


def encode(rule: Rule | None) -> str | None:
    """A short stable text for a database column, RRULE-like: ``FREQ=WEEKLY;BYDAY=SA;UNTIL=20270331`` (UNTIL
    is the local date here, not RFC 5545's UTC moment)."""
    if rule is None:
        return None
    parts = [f"FREQ={rule.freq.upper()}"]
    if rule.interval != 1:
        parts.append(f"INTERVAL={rule.interval}")
    if rule.weekday is not None:
        parts.append(f"BYDAY={rule.ordinal or ''}{_CODES[rule.weekday]}")
    if rule.until is not None:
        parts.append(f"UNTIL={rule.until:%Y%m%d}")
    return ";".join(parts)


def decode(text: str | None) -> Rule | None:
    """The rule ``encode`` wrote; a ValueError for text it did not write."""
    if not text:
        return None
    fields: dict[str, str] = {}
    for part in text.split(";"):
        key, equals, value = part.partition("=")
        if not equals or key in fields or key not in {"FREQ", "INTERVAL", "BYDAY", "UNTIL"}:
            raise ValueError(f"not a stored rule: {text!r}")
        fields[key] = value
    byday = re.fullmatch(r"(-1|[1-4])?(MO|TU|WE|TH|FR|SA|SU)", fields.get("BYDAY", "MO"))
    if "FREQ" not in fields or byday is None or not re.fullmatch(r"[1-9]\d?", fields.get("INTERVAL", "1")):
        raise ValueError(f"not a stored rule: {text!r}")
    until = datetime.strptime(fields["UNTIL"], "%Y%m%d").date() if "UNTIL" in fields else None
    return Rule(
        fields["FREQ"].lower(),
        interval=int(fields.get("INTERVAL", "1")),
        weekday=_CODES.index(byday.group(2)) if "BYDAY" in fields else None,
        ordinal=int(byday.group(1)) if "BYDAY" in fields and byday.group(1) else None,
        until=until,
    )


_EVERY_WEEKDAY = (N_("every Monday"), N_("every Tuesday"), N_("every Wednesday"), N_("every Thursday"),
                  N_("every Friday"), N_("every Saturday"), N_("every Sunday"))


def describe(rule: Rule, tz: ZoneInfo, first: datetime) -> str:
    """The rule in words, in the reader's language: "every Saturday until 31 March 2027"."""
    locale = current_locale()
    weekday = first.astimezone(tz).weekday() if rule.weekday is None else rule.weekday
    day_name = get_day_names("wide", locale=locale)[weekday]
    count = rule.interval
    if rule.freq == "daily":
        text = _("every day") if count == 1 else ngettext("every {count} day", "every {count} days", count)
    elif rule.freq == "weekly" and count == 1:  # whole phrases: the weekday's form depends on "every"
        text = _(_EVERY_WEEKDAY[weekday])
    elif rule.freq == "weekly":
        text = ngettext("every {count} week on {weekday}", "every {count} weeks on {weekday}", count)
    elif rule.ordinal is not None:
        text = {
            1: _("the first {weekday} of each month"),
            2: _("the second {weekday} of each month"),
            3: _("the third {weekday} of each month"),
            4: _("the fourth {weekday} of each month"),
            -1: _("the last {weekday} of each month"),
        }[rule.ordinal]
    else:
        text = (_("every month on day {day}") if count == 1
                else ngettext("every {count} month on day {day}", "every {count} months on day {day}", count))
    text = text.format(count=count, weekday=day_name, day=first.astimezone(tz).day)
    if rule.until is None:
        return text
    return _("{rule} until {date}").format(rule=text, date=format_long_date(rule.until))


__all__ = ["FREQUENCIES", "Rule", "decode", "describe", "encode", "occurrences", "parse_when", "to_rrule"]
