"""Moments typed naturally, in any of our languages: "in 2 hours", "tomorrow 18:00", "at 18:00",
"2026-12-01 18:00", "tra 3 giorni", "mañana a las 18:00", "pēc 2 stundām", read in a given time zone.

Shared by every Interlinker that asks for a time (poll deadlines, meeting slots, events); each adds its own
rules (too near, too far) on top.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_timedelta

from bot.errors import UserError
from bot.i18n import _, current_locale, format_list

# "in" in our languages (accents dropped): "in 2h", "tra 30 min", "en 2 horas", "pēc 1d"
IN_WORDS = {"in", "tra", "fra", "en", "pec"}
_UNITS = {"m": 60, "min": 60, "h": 3600, "st": 3600, "ore": 3600, "d": 86400, "g": 86400}
LANGUAGES = ("en", "it", "es", "lv")


def plain(text: str) -> str:
    """Lower case without accents: what people type is compared in this form."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def read_moment(text: str, tz: ZoneInfo, now: datetime) -> datetime | None:
    """The moment ``text`` names, aware, or None when it names none; the reader's language is tried
    first, then the others (a group is often mixed)."""
    words = " ".join(text.split())
    return _short_relative(words, now) or _natural(words, tz, now)


def _short_relative(words: str, now: datetime) -> datetime | None:
    """``in 2h`` / ``tra 30 min`` / ``pēc 1d``: short units, which the date parser does not know."""
    relative = re.fullmatch(r"(\S+)\s+(\d{1,6})\s*([a-z]+)", words, re.IGNORECASE)
    if relative and plain(relative.group(1)) in IN_WORDS | {plain(_("in"))}:
        unit = _UNITS.get(relative.group(3).lower())
        if unit is not None:
            return now + timedelta(seconds=int(relative.group(2)) * unit)
    return None


def _natural(words: str, tz: ZoneInfo, now: datetime) -> datetime | None:
    import dateparser  # type: ignore[import-untyped]  # ~20 MB and 0.1 s: loaded the first time someone writes a date

    words = _as_parser_reads(words)
    languages = [current_locale(), *(code for code in LANGUAGES if code != current_locale())]
    # Day first, as every one of our groups writes it (06.03.2027 is the 6th of March, in English too).
    settings = {"PREFER_DATES_FROM": "future", "RELATIVE_BASE": now.astimezone(tz).replace(tzinfo=None),
                "TIMEZONE": str(tz), "RETURN_AS_TIMEZONE_AWARE": True, "DATE_ORDER": "DMY"}
    found: datetime | None = dateparser.parse(words, languages=languages, settings=settings)
    return found.replace(microsecond=0) if found is not None else None


# Latvian says "on Saturday" and "in March" in forms the date parser does not know (the locative).
_LATVIAN = {"pirmdien": "pirmdiena", "otrdien": "otrdiena", "trešdien": "trešdiena", "ceturtdien": "ceturtdiena",
            "piektdien": "piektdiena", "sestdien": "sestdiena", "svētdien": "svētdiena", "janvārī": "janvāris",
            "februārī": "februāris", "martā": "marts", "aprīlī": "aprīlis", "maijā": "maijs", "jūnijā": "jūnijs",
            "jūlijā": "jūlijs", "augustā": "augusts", "septembrī": "septembris", "oktobrī": "oktobris",
            "novembrī": "novembris", "decembrī": "decembris"}
_LATVIAN_WORD = re.compile(rf"\b({'|'.join(_LATVIAN)})\b", re.IGNORECASE)
# "alle 18", "a las 18", "at 18", "plkst. 18.30", "ore 10": an hour the parser would take for a day.
_AT_HOUR = re.compile(r"\b(?:alle ore|alle|ore|a las|a la|at|plkst\.?)\s*(\d{1,2})(?:[.:](\d{2}))?(?![\d.:/])",
                      re.IGNORECASE)


def _as_parser_reads(words: str) -> str:
    """Rewrite what the date parser misreads or misses into forms it reads right."""
    words = re.sub(r"^fra\b", "tra", words, flags=re.IGNORECASE)  # Italian "fra" = "tra"
    words = re.sub(r"^(?:il|el|la|le|l'|the|on)\s+", "", words, flags=re.IGNORECASE)  # "chiude il 5 marzo"
    words = re.sub(r"\b(\d{4})\.(?:\s*gada\b)?", r"\1", words)  # Latvian "2027. gada", "06.03.2027."
    words = _LATVIAN_WORD.sub(lambda found: _LATVIAN[found[1].lower()], words)
    words = _AT_HOUR.sub(lambda found: f" {int(found[1])}:{found[2] or '00'}", words)
    return " ".join(words.replace(",", " ").split())


# --- lead times: "1d 1h" before something (reminders) ------------------------------------------------

_LEAD_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}
_OFF = {"off", "no", "none", "0", "nessuno", "ninguno", "nav"}
MAX_LEADS = 3


def lead_times(stored: str) -> tuple[timedelta, ...]:
    """A stored value ("1d 1h"; "" for none) as offsets before the moment, longest first."""
    return tuple(sorted((timedelta(seconds=int(t[:-1]) * _LEAD_UNITS[t[-1]]) for t in stored.split()), reverse=True))


def parse_lead_times(typed: str) -> str:
    """What an organiser typed ("1d 2h", "off") as the stored value, or a UserError saying how to write it."""
    words = typed.casefold().replace(",", " ").split()
    if len(words) == 1 and words[0] in _OFF:
        return ""
    if not words or len(words) > MAX_LEADS or not all(re.fullmatch(r"\d{1,3}[mhdw]", w) for w in words):
        raise UserError(_("Write up to {count} times before, such as “1d 1h” (d days, h hours, m minutes, "
                          "w weeks), or “off”.").format(count=MAX_LEADS))
    if any(not timedelta(minutes=5) <= lead_times(w)[0] <= timedelta(weeks=4) for w in words):
        raise UserError(_("A reminder comes from 5 minutes to 4 weeks before."))
    return " ".join(sorted(set(words), key=lambda w: lead_times(w)[0], reverse=True))


def lead_times_text(stored: str) -> str:
    """The offsets in the reader's words ("1 day and 1 hour"), or "" for none."""
    return format_list([format_timedelta(offset, threshold=1, locale=current_locale())
                        for offset in lead_times(stored)])


__all__ = ["IN_WORDS", "LANGUAGES", "MAX_LEADS", "lead_times", "lead_times_text", "parse_lead_times", "plain",
           "read_moment"]
