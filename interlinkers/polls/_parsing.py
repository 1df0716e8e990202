"""Reading ``/poll`` input: question, options, and the optional ``closes ...`` and ``anonymous`` parts.

All checks happen here, before anything is stored, and every problem is a translated ``UserError``.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.errors import UserError
from bot.i18n import _

MIN_OPTIONS = 2
MAX_OPTIONS = 12
MAX_QUESTION = 300
MAX_OPTION = 100
MAX_DURATION = timedelta(days=366)
_UNITS = {"m": 60, "min": 60, "h": 3600, "st": 3600, "ore": 3600, "d": 86400, "g": 86400}


@dataclass(frozen=True, slots=True)
class PollDraft:
    question: str
    options: tuple[str, ...]
    closes_at: datetime | None = None
    anonymous: bool = False


# What people type in any of our languages, whatever language the bot speaks to them: a group is often
# mixed. Accents are optional (``_plain``); each word is compared whole.
_CLOSES = {"closes", "close", "closing", "chiude", "chiusura", "cierra", "cierre", "beidzas", "sledz"}
_ANONYMOUS = {"anonymous", "anonimo", "anonima", "anonimi", "anonime", "anonimos", "anonimas", "anonims"}
_IN = {"in", "tra", "fra", "en", "pec"}
# "closes" followed by one of these (or a number) is a deadline, readable or not; followed by anything else
# ("Closes early", "Closes at noon") it is an option.
_DEADLINE_STARTS = _IN | {"tomorrow", "today", "tonight", "domani", "oggi", "stasera", "manana", "hoy", "rit",
                          "sodien"}


def _plain(word: str) -> str:
    """Casefolded, without accents: "Anónimo" and "anonimo", "pēc" and "pec" read the same."""
    return "".join(c for c in unicodedata.normalize("NFKD", word.casefold()) if not unicodedata.combining(c))


def _looks_like_deadline(rest: str) -> bool:
    first = _plain(rest.strip().split(" ", 1)[0]) if rest.strip() else ""
    return bool(first) and (first[0].isdigit() or first.split("-")[0] in _DEADLINE_STARTS)


def _misspelt(word: str, settings: set[str]) -> bool:
    """A typo of a setting word ("anonymus", "annonimo"), never a word of its own ("Antonio", "anima",
    "Canon"): one word, the setting's first letters, and most of the rest."""
    return (" " not in word and word.startswith(("anon", "annon"))
            and bool(difflib.get_close_matches(word, settings, 1, 0.8)))


def example() -> str:
    return _("Example: /poll Where do we meet? | Library | Park | closes in 2h")


def check_question(question: str) -> str:
    question = " ".join(question.split())
    if not question:
        raise UserError(_("The poll needs a question.") + " " + example())
    if len(question) > MAX_QUESTION:
        raise UserError(
            _("The question is {length} characters long; the limit is {limit}.").format(
                length=len(question), limit=MAX_QUESTION
            )
        )
    return question


def check_options(options: list[str]) -> tuple[str, ...]:
    cleaned = [" ".join(o.split()) for o in options]
    if any(not o for o in cleaned):
        raise UserError(_("One of the options is empty. Separate options with a single |."))
    if len(cleaned) < MIN_OPTIONS:
        raise UserError(_("A poll needs at least {minimum} options.").format(minimum=MIN_OPTIONS) + " " + example())
    if len(cleaned) > MAX_OPTIONS:
        raise UserError(
            _("A poll can have at most {maximum} options; you gave {count}.").format(
                maximum=MAX_OPTIONS, count=len(cleaned)
            )
        )
    for option in cleaned:
        if len(option) > MAX_OPTION:
            raise UserError(
                _("The option “{start}…” is {length} characters long; the limit is {limit}.").format(
                    start=option[:20], length=len(option), limit=MAX_OPTION
                )
            )
    seen: set[str] = set()
    for option in cleaned:
        if option.casefold() in seen:
            raise UserError(_("The option “{option}” appears twice.").format(option=option))
        seen.add(option.casefold())
    return tuple(cleaned)


def parse_deadline(text: str, tz: ZoneInfo, now: datetime | None = None) -> datetime:
    """``in 2h`` / ``in 30 min`` / ``in 1d``, or ``2026-12-01 18:00`` in the initiative's zone."""
    now = now or datetime.now(UTC)
    words = text.strip()
    relative = re.fullmatch(r"(\S+)\s+(\d{1,4})\s*([a-z]+)", words, re.IGNORECASE)
    if relative and _plain(relative.group(1)) in _IN | {_plain(_("in"))}:
        unit = _UNITS.get(relative.group(3).lower())
        if unit is not None:
            delta = timedelta(seconds=int(relative.group(2)) * unit)
            if timedelta(0) < delta <= MAX_DURATION:
                return now + delta
    absolute = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2})[:.](\d{2})", words)
    if absolute:
        try:
            year, month, day, hour, minute = (int(g) for g in absolute.groups())
            local = datetime(year, month, day, hour, minute, tzinfo=tz)
        except ValueError:
            local = None
        if local is not None:
            if local <= now:
                raise UserError(_("The closing time must be in the future."))
            if local - now > MAX_DURATION:
                raise UserError(_("A poll can stay open for at most a year."))
            return local.astimezone(UTC)
    raise UserError(
        _("I could not read the closing time. Write for example “closes in 2h” or “closes 2026-12-01 18:00”.")
    )


def parse_poll(args: str, tz: ZoneInfo, now: datetime | None = None) -> PollDraft:
    """Question, then options and settings in any order. A part is a setting only when it reads as one
    as a whole: ``closes`` followed by a time (else ``Closes early`` is an option), or the word
    *anonymous* in any of our languages (unless the poll needs it as an option: ``Named | Anonymous``).
    A near miss of a setting (``anonymus``) is refused rather than silently becoming an option."""
    parts = [p.strip() for p in args.split("|")]
    question = check_question(parts[0] if parts else "")
    closes_at: datetime | None = None
    anonymous_at: list[int] = []
    options: list[str] = []
    closes_words = _CLOSES | {_plain(_("closes"))}
    anonymous_words = _ANONYMOUS | {_plain(_("anonymous"))}
    for part in parts[1:]:
        head, _sep, rest = part.partition(" ")
        word = _plain(part)
        if _plain(head) in closes_words and _looks_like_deadline(rest):
            closes_at = parse_deadline(rest, tz, now)
            continue
        if word in anonymous_words or _misspelt(word, anonymous_words):
            anonymous_at.append(len(options))
        options.append(part)
    anonymous = False
    if anonymous_at and len(options) - len(anonymous_at) >= MIN_OPTIONS:  # else they are options
        for index in reversed(anonymous_at):
            typed = options.pop(index)
            if _plain(typed) not in anonymous_words:
                raise UserError(
                    _("“{typed}” looks like a setting I do not know. Did you mean “{setting}”? To have it as "
                      "an option, word it differently.").format(typed=typed, setting=_("anonymous"))
                )
        anonymous = True
    return PollDraft(question, check_options(options), closes_at, anonymous)


def parse_vote(args: str) -> tuple[int, int]:
    match = re.fullmatch(r"#?(\d{1,9})\s+(\d{1,9})", args.strip())
    if not match:
        raise UserError(_("Write the poll number and the option number, for example: /vote 3 2"))
    return int(match.group(1)), int(match.group(2))


def parse_poll_number(args: str, command: str) -> int:
    match = re.fullmatch(r"#?(\d{1,9})", args.strip())
    if not match:
        raise UserError(_("Write the poll number, for example: /{command} 3").format(command=command))
    return int(match.group(1))
