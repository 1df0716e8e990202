"""Reading ``/poll`` input: question, options, and the optional ``closes ...`` and ``anonymous`` parts.

All checks happen here, before anything is stored, and every problem is a translated ``UserError``.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.errors import UserError
from bot.i18n import _
from bot.when import IN_WORDS, read_moment
from interlinkers.polls._kinds import STANCES, Kind, plain

MIN_OPTIONS = 2
MAX_OPTIONS = 12
MAX_QUESTION = 300
MAX_OPTION = 100
MAX_DURATION = timedelta(days=366)
MIN_DURATION = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class PollDraft:
    question: str
    options: tuple[str, ...]
    closes_at: datetime | None = None
    anonymous: bool = False
    kind: Kind = Kind.SINGLE
    limit: int | None = None
    hidden: bool = False
    quorum: int | None = None
    quorum_percent: int | None = None
    open_options: bool = False


# What people type in any of our languages, whatever language the bot speaks to them: a group is often
# mixed. Accents are optional (``_plain``); each word is compared whole.
_CLOSES = {"closes", "close", "closing", "chiude", "chiusura", "cierra", "cierre", "beidzas", "sledz"}
_ANONYMOUS = {"anonymous", "anonimo", "anonima", "anonimi", "anonime", "anonimos", "anonimas", "anonims"}
# Words that are a setting when a part is exactly one of them (accents optional), in every language.
_FLAGS: dict[str, set[str]] = {
    "anonymous": _ANONYMOUS,
    "hidden": {"hidden", "hidden results", "nascosto", "nascosta", "risultati nascosti", "oculto", "oculta",
               "resultados ocultos", "slepts", "slepta", "slepti rezultati"},
    "open_options": {"add options", "open options", "aggiungi opzioni", "opzioni aperte", "anadir opciones",
                     "opciones abiertas", "pievienot iespejas", "atvertas iespejas"},
    "multiple": {"multiple", "multiple choice", "multipla", "scelta multipla", "seleccion multiple",
                    "vairakas", "vairakas izveles"},
    "ranked": {"ranked", "ranked choice", "ranking", "classifica", "preferenze", "clasificacion",
                  "preferencias", "rangots", "rangu", "prioritates"},
    "score": {"score", "scores", "punteggio", "puntuacion", "vertejums"},
    "dots": {"dots", "dot vote", "punti", "puntos", "punkti"},
}
_QUORUM = {"quorum", "kvorums"}
_KINDS = ("multiple", "ranked", "score", "dots")
MAX_DOTS = 100
_IN = IN_WORDS
# "closes" followed by one of these (or a number) is a deadline, readable or not; followed by anything else
# ("Closes early", "Closes at noon") it is an option.
_DEADLINE_STARTS = _IN | {"tomorrow", "today", "tonight", "domani", "oggi", "stasera", "manana", "hoy", "rit",
                          "sodien", "at", "alle", "a", "plkst", "on", "next", "il", "el"}


_plain = plain


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
    """When a poll closes, read naturally in any of our languages ("in 2 hours", "tomorrow 18:00", "at
    18:00", "2026-12-01", "tra 3 giorni", "mañana a las 18:00", "pēc 2 stundām"...) in the initiative's
    zone; too near, past and too far are each refused with their own message."""
    now = now or datetime.now(UTC)
    words = " ".join(text.split())
    found = _natural_deadline(words, tz, now)
    if found is None:
        raise UserError(_("I could not read the closing time. Write for example “closes in 2 hours”, "
                          "“closes tomorrow 18:00” or “closes 2026-12-01 18:00”."))
    if found < now - timedelta(seconds=30):
        raise UserError(_("The closing time must be in the future."))
    if found < now + MIN_DURATION:
        raise UserError(_("A poll must stay open for at least a minute."))
    if found - now > MAX_DURATION:
        raise UserError(_("A poll can stay open for at most a year."))
    return found.astimezone(UTC)


def _natural_deadline(words: str, tz: ZoneInfo, now: datetime) -> datetime | None:
    found = read_moment(words, tz, now)
    if found is not None and re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", words):  # a date alone: open until it ends
        found = found.replace(hour=23, minute=59)
    return found


def parse_poll(args: str, tz: ZoneInfo, now: datetime | None = None) -> PollDraft:
    """Question, then options and settings in any order. A part is a setting only when it reads as one
    as a whole: ``closes`` followed by a time (else ``Closes early`` is an option), ``quorum 5`` or
    ``quorum 50%``, ``multiple 2``, ``dots 5``, or one of the setting words (``_FLAGS``) in any of our
    languages. When taking the settings out would leave fewer than two options (``Named | Anonymous``),
    or two parts read as deadlines (``Closes at noon | Closes at 6pm``), they are options. A near miss of
    a setting (``anonymus``) is refused rather than silently becoming an option."""
    parts = [p.strip() for p in args.split("|")]
    question = check_question(parts[0] if parts else "")
    options, settings = _split(parts[1:], tz, now)
    return draft(question, options, settings)


def parse_proposal(args: str, tz: ZoneInfo, now: datetime | None = None) -> PollDraft:
    """``/propose <proposal> [| closes … | anonymous | hidden | quorum …]``: answered by consent."""
    parts = [p.strip() for p in args.split("|")]
    question = check_question(parts[0] if parts else "")
    options, settings = _split(parts[1:], tz, now, flags_only=True)
    if options or "kind" in settings or "open_options" in settings:
        raise UserError(_("A proposal is answered with agree, abstain, disagree or block, so it takes no options. "
                          "Settings it accepts: closes …, anonymous, hidden, quorum …."))
    return draft(question, list(STANCES), {**settings, "kind": Kind.CONSENT})


def parse_settings(text: str, tz: ZoneInfo, now: datetime | None = None) -> dict[str, Any]:
    """Settings alone (the dialog's last step): every part must be one."""
    options, settings = _split([p.strip() for p in text.split("|") if p.strip()], tz, now, flags_only=True)
    if options:
        raise UserError(_("“{typed}” is not a setting I know. Settings: closes …, anonymous, hidden, quorum …, "
                          "multiple …, ranked, score, dots …, add options.").format(typed=options[0]))
    return settings


def _split(parts: list[str], tz: ZoneInfo, now: datetime | None,
           flags_only: bool = False) -> tuple[list[str], dict[str, Any]]:
    closes_words = _CLOSES | {_plain(_("closes"))}
    deadlines: list[tuple[int, str]] = []
    flagged: list[tuple[int, str | None]] = []
    options: list[str] = []
    settings: dict[str, Any] = {}
    for part in parts:
        head, _sep, rest = part.partition(" ")
        word, rest_plain = _plain(part), _plain(rest).strip()
        numbered = re.fullmatch(r"(\d{1,3})\s*(%?)", rest_plain)
        kind = _kind_of(_plain(head))
        if _plain(head) in closes_words and _looks_like_deadline(rest):
            deadlines.append((len(options), rest))
        elif _plain(head) in _QUORUM and numbered:
            settings["quorum_percent" if numbered.group(2) else "quorum"] = int(numbered.group(1))
            continue
        elif numbered and not numbered.group(2) and kind in (Kind.MULTIPLE, Kind.DOTS):
            _set_kind(settings, kind, int(numbered.group(1)))
            continue
        elif (key := _flag_of(word)) is not None or _misspelt(word, _ANONYMOUS | {_plain(_("anonymous"))}):
            flagged.append((len(options), key))
        options.append(part)
    # A "closes …" part among options that start with the same word ("Closes early") is one of them.
    closing_options = any(_plain(option.partition(" ")[0]) in closes_words
                          for index, option in enumerate(options) if index not in {i for i, _w in deadlines})
    if closing_options and not flags_only:
        deadlines = []
    taken = {index for index, _when in deadlines} | {index for index, _key in flagged}
    if flags_only or (len(options) - len(taken) >= MIN_OPTIONS and len(deadlines) <= 1):
        for _index, rest in deadlines:
            settings["closes_at"] = parse_deadline(rest, tz, now)
        for index, key in flagged:
            if key is None:
                raise UserError(
                    _("“{typed}” looks like a setting I do not know. Did you mean “{setting}”? To have it as "
                      "an option, word it differently.").format(typed=options[index], setting=_("anonymous")))
            if key in _KINDS:
                _set_kind(settings, Kind(key), None)
            else:
                settings[key] = True
        options = [option for index, option in enumerate(options) if index not in taken]
    return options, settings


def _flag_of(word: str) -> str | None:
    if word == _plain(_("anonymous")):
        return "anonymous"
    return next((key for key, words in _FLAGS.items() if word in words), None)


def _kind_of(word: str) -> Kind | None:
    return next((Kind(key) for key in _KINDS if word in _FLAGS[key]), None)


def _set_kind(settings: dict[str, Any], kind: Kind, limit: int | None) -> None:
    if settings.get("kind", kind) is not kind:
        raise UserError(_("A poll has one kind: choose one of multiple, ranked, score or dots."))
    settings["kind"] = kind
    if limit is not None:
        settings["limit"] = limit


def draft(question: str, options: list[str], settings: dict[str, Any]) -> PollDraft:
    """A poll from its question, options and settings, every rule checked."""
    kind = Kind(settings.get("kind", Kind.SINGLE))
    choices = tuple(options) if kind is Kind.CONSENT else check_options(options)
    limit: int | None = settings.get("limit")
    if kind is Kind.MULTIPLE:
        limit = limit or len(choices)
        if not 1 <= limit <= len(choices):
            raise UserError(_("Multiple choice: choose at most 1 to {count} options (the number of options).")
                            .format(count=len(choices)))
    elif kind is Kind.DOTS:
        limit = limit or len(choices)
        if not 1 <= limit <= MAX_DOTS:
            raise UserError(_("Give each voter from 1 to {maximum} dots.").format(maximum=MAX_DOTS))
    else:
        limit = None
    percent: int | None = settings.get("quorum_percent")
    if percent is not None and not 1 <= percent <= 100:
        raise UserError(_("A quorum share goes from 1% to 100%."))
    quorum: int | None = settings.get("quorum")
    if quorum is not None and quorum < 1:
        raise UserError(_("A quorum is at least 1 voter."))
    return PollDraft(question, choices, settings.get("closes_at"), bool(settings.get("anonymous")), kind, limit,
                     bool(settings.get("hidden")), quorum, percent, bool(settings.get("open_options")))


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
