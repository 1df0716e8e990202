"""The kinds of poll and what a ballot is in each: how it is typed, changed by a button, stored, and
counted (by the pure tally modules in ``methods``, so a result is the same wherever it is computed).

A ballot is a tuple of ints ("choice"):

- single, consent: ``(option,)`` (consent's options are the four stances, in ``STANCES`` order);
- multiple: the chosen options, ascending; ranked: the options best first (may stop early);
- score, dots: one figure per option, in option order (missing trailing figures are 0).

Stored as ``position`` (single, consent) or as the comma-separated ``choice`` text (the others), so the
single-choice vote keeps its one-column fast path.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.errors import UserError
from bot.i18n import N_, _
from bot.when import plain
from interlinkers.polls.methods import Result, approval, consent, dots, irv, plurality, schulze, score
from interlinkers.polls.methods.consent import Consent

Choice = tuple[int, ...]
TOP_SCORE = score.TOP
MAX_REASON = 300


class Kind(StrEnum):
    SINGLE = "single"
    MULTIPLE = "multiple"
    RANKED = "ranked"
    SCORE = "score"
    DOTS = "dots"
    CONSENT = "consent"

    @property
    def positional(self) -> bool:
        """Stored in the ballot's ``position`` column (one option per ballot)."""
        return self in (Kind.SINGLE, Kind.CONSENT)


STANCES = tuple(stance.value for stance in consent.Stance)  # option labels of a proposal, in order
_STANCE_LABELS = {"agree": N_("Agree"), "abstain": N_("Abstain"), "disagree": N_("Disagree"), "block": N_("Block")}
# What people type, in any of our languages (accents optional), for each stance.
_STANCE_WORDS = {
    "agree": ("agree", "yes", "d'accordo", "daccordo", "favorevole", "si", "de acuerdo", "a favor", "piekritu",
              "par", "ja"),
    "abstain": ("abstain", "astengo", "mi astengo", "astensione", "me abstengo", "abstencion", "atturos"),
    "disagree": ("disagree", "no", "contrario", "contraria", "en contra", "desacuerdo", "nepiekritu", "pret",
                 "ne"),
    "block": ("block", "blocco", "blocca", "bloqueo", "bloquear", "bloqueo", "blokeju", "bloket"),
}


def stance_label(stance: str) -> str:
    return _(_STANCE_LABELS[stance])


@dataclass(frozen=True, slots=True)
class Rules:
    """What a ballot of this poll may hold: ``options`` options, ``limit`` (at most k choices; dots)."""

    kind: Kind
    options: int
    limit: int | None = None
    number: int = 0  # the poll's number, for messages


# --- storing -----------------------------------------------------------------------------------------


def encode(kind: Kind, choice: Choice) -> tuple[int, str | None]:
    if kind.positional:
        return choice[0], None
    return 0, ",".join(str(value) for value in choice)


def decode(kind: Kind, position: int, text: str | None) -> Choice:
    if kind.positional:
        return (position,)
    return tuple(int(value) for value in text.split(",")) if text else ()


def weights(rules: Rules, choice: Choice) -> list[int]:
    """What the ballot adds to each option's running figure (ranked: its first preference)."""
    figures = [0] * rules.options
    if not choice:
        return figures
    if rules.kind in (Kind.SINGLE, Kind.CONSENT, Kind.RANKED):
        figures[choice[0] - 1] = 1
    elif rules.kind is Kind.MULTIPLE:
        for option in choice:
            figures[option - 1] = 1
    else:
        for index, value in enumerate(choice[: rules.options]):
            figures[index] = value
    return figures


# --- counting ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Count:
    """A poll's result from its ballots: ``main`` decides (IRV for ranked), ``schulze`` is shown beside it
    for ranked polls, ``stances`` for a proposal."""

    main: Result
    schulze: Result | None = None
    stances: Consent | None = None


def count(rules: Rules, choices: Iterable[Choice]) -> Count:
    """The result, by the method of the poll's kind. Raises ``BallotError`` on a ballot it cannot count."""
    ballots = list(choices)
    n = rules.options
    if rules.kind is Kind.SINGLE:
        return Count(plurality.tally(n, (c[0] for c in ballots)))
    if rules.kind is Kind.CONSENT:
        main = plurality.tally(n, (c[0] for c in ballots))
        return Count(main, stances=consent.tally(STANCES[c[0] - 1] for c in ballots))
    if rules.kind is Kind.MULTIPLE:
        return Count(approval.tally(n, ballots, rules.limit or n))
    if rules.kind is Kind.RANKED:
        return Count(irv.tally(n, ballots), schulze=schulze.tally(n, ballots))
    spread = [{i: v for i, v in enumerate(c[:n], start=1) if v} for c in ballots]
    if rules.kind is Kind.SCORE:
        return Count(score.tally(n, spread))
    return Count(dots.tally(n, spread, rules.limit or 0))


# --- typing and pressing -------------------------------------------------------------------------------


def parse(rules: Rules, text: str) -> tuple[Choice, str | None]:
    """A typed ballot (what follows ``/vote N``) and, for a proposal, the reason after the stance."""
    text = " ".join(text.split())
    if rules.kind is Kind.CONSENT:
        return _stance(text)
    numbers = re.sub(r"\s*=\s*", "=", text).replace(",", " ").replace(";", " ").split()
    if not numbers or not all(re.fullmatch(r"\d{1,9}(?:=\d{1,9})?", number) for number in numbers):
        raise UserError(_how(rules))
    if rules.kind in (Kind.SCORE, Kind.DOTS):
        return _figures(rules, numbers), None
    options = [int(number) for number in numbers if "=" not in number]
    if len(options) != len(numbers):
        raise UserError(_how(rules))
    return _options(rules, options), None


def press(rules: Rules, current: Choice | None, option: int) -> Choice:
    """A button press on ``option`` changes the ballot: single and consent choose it; multiple and ranked
    add it (or take it back when already chosen); score and dots add one point or dot (score wraps after
    the top)."""
    if not 1 <= option <= rules.options:
        raise UserError(_("This button is not valid any more. Send /help to start again."))
    now = current or ()
    if rules.kind.positional:
        return (option,)
    if rules.kind in (Kind.MULTIPLE, Kind.RANKED):
        if option in now:
            return tuple(o for o in now if o != option)
        added = (*now, option)
        return _options(rules, list(added if rules.kind is Kind.RANKED else sorted(added)))
    figures = list(now) + [0] * (rules.options - len(now))
    figures[option - 1] += 1
    if rules.kind is Kind.SCORE:
        figures[option - 1] %= TOP_SCORE + 1
    elif sum(figures) > (rules.limit or 0):
        raise UserError(_("You have used all your {dots} dots. To move them, type them again with /vote.")
                        .format(dots=rules.limit))
    return tuple(figures)


def _options(rules: Rules, options: Sequence[int]) -> Choice:
    for option in options:
        if not 1 <= option <= rules.options:
            raise UserError(_("Poll #{number} has options 1 to {count}.").format(number=rules.number,
                                                                                 count=rules.options))
    if len(set(options)) != len(options):
        raise UserError(_("Name each option only once."))
    if rules.kind is Kind.SINGLE and len(options) != 1:
        raise UserError(_how(rules))
    if rules.kind is Kind.MULTIPLE:
        if rules.limit is not None and len(options) > rules.limit:
            raise UserError(_("You can choose at most {limit} options here.").format(limit=rules.limit))
        return tuple(sorted(options))
    return tuple(options)


def _figures(rules: Rules, numbers: Sequence[str]) -> Choice:
    figures = [0] * rules.options
    if all("=" in number for number in numbers):
        for pair in numbers:
            option, value = (int(part) for part in pair.split("="))
            if not 1 <= option <= rules.options:
                raise UserError(_("Poll #{number} has options 1 to {count}.").format(number=rules.number,
                                                                                 count=rules.options))
            figures[option - 1] = value
    elif any("=" in number for number in numbers) or len(numbers) != rules.options:
        raise UserError(_how(rules))
    else:
        figures = [int(number) for number in numbers]
    if rules.kind is Kind.SCORE and any(value > TOP_SCORE for value in figures):
        raise UserError(_("Scores go from 0 to {top}.").format(top=TOP_SCORE))
    if rules.kind is Kind.DOTS and sum(figures) > (rules.limit or 0):
        raise UserError(_("You have {dots} dots to spread; you gave {given}.").format(dots=rules.limit,
                                                                                     given=sum(figures)))
    return tuple(figures)


def _stance(text: str) -> tuple[Choice, str | None]:
    typed = plain(text)
    for number, stance in enumerate(STANCES, start=1):
        words = sorted({*_STANCE_WORDS[stance], plain(stance_label(stance)), str(number)}, key=len, reverse=True)
        for word in words:
            if typed == word or typed.startswith((word + " ", word + ":", word + ",")):
                reason = text[len(word):].lstrip(" :,-").strip() or None
                if reason is not None and len(reason) > MAX_REASON:
                    raise UserError(_("The reason is {length} characters long; the limit is {limit}.").format(
                        length=len(reason), limit=MAX_REASON))
                return (number,), reason
    raise UserError(_how(Rules(Kind.CONSENT, len(STANCES))))


def _how(rules: Rules) -> str:
    """How to type a ballot of this kind (the message for anything else)."""
    if rules.kind is Kind.SINGLE:
        return _("Write the poll number and the option number, for example: /vote 3 2")
    if rules.kind is Kind.MULTIPLE:
        return _("Write the poll number and the options you choose, for example: /vote 3 1 4")
    if rules.kind is Kind.RANKED:
        return _("Write the poll number and the options in your order of preference, best first, for example: "
                 "/vote 3 2 1 4")
    if rules.kind is Kind.SCORE:
        return _("Write the poll number and a score from 0 to {top} for each option, in order (/vote 3 5 0 3), "
                 "or option=score pairs (/vote 3 1=5 3=2).").format(top=TOP_SCORE)
    if rules.kind is Kind.DOTS:
        return _("Write the poll number and how many of your {dots} dots each option gets, in order "
                 "(/vote 3 2 0 1), or option=dots pairs (/vote 3 1=2 3=1).").format(dots=rules.limit)
    return _("Write the poll number and agree, abstain, disagree or block, then a reason if you like, for "
             "example: /vote 3 block it costs too much")



# --- outcomes ------------------------------------------------------------------------------------------

OUTCOMES = ("decided", "tie", "no_votes", "no_quorum", "passed", "blocked", "rejected")


def required(quorum: int | None, percent: int | None, members: int) -> int | None:
    """How many voters the poll needs: a number, a share of the initiative's members, or both (the
    larger); None when it has no quorum."""
    needs = [value for value in (quorum, -(-(percent or 0) * members // 100) if percent else None) if value]
    return max(needs) if needs else None


def outcome(kind: Kind, result: Count, voters: int, needed: int | None) -> str:
    """How a closed poll ended, as recorded for the PA (one of ``OUTCOMES``)."""
    if needed is not None and voters < needed:
        return "no_quorum"
    if result.stances is not None:
        return "blocked" if result.stances.blocked else "passed" if result.stances.passed else "rejected"
    winners = result.main.winners
    return "no_votes" if not winners else "decided" if len(winners) == 1 else "tie"
