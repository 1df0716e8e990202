"""How a poll reads in a chat: question, options with their figures, status, how to vote, result.

Pure text from the poll's state and its figures, in the current language (the caller chooses it: the
group's for what the group reads)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.i18n import _, format_list, format_percentage, ngettext, quoted
from interlinkers.polls._kinds import STANCES, Count, Kind, stance_label
from interlinkers.polls.methods._result import best

BAR_WIDTH = 10


@dataclass(frozen=True, slots=True)
class Tally:
    """Option labels and their running figures (votes, approvals, first choices, points, dots)."""

    labels: tuple[str, ...]
    counts: tuple[int, ...]

    @property
    def total(self) -> int:
        return sum(self.counts)

    @property
    def winners(self) -> tuple[str, ...]:
        return tuple(self.labels[option - 1] for option in best(self.counts))


def votes(count: int) -> str:
    return ngettext("{count} vote", "{count} votes", count).format(count=count)


def voters(count: int) -> str:
    return ngettext("{count} voter", "{count} voters", count).format(count=count)


def _figure(kind: Kind, count: int) -> str:
    if kind is Kind.RANKED:
        return ngettext("{count} first choice", "{count} first choices", count).format(count=count)
    if kind is Kind.SCORE:
        return ngettext("{count} point", "{count} points", count).format(count=count)
    if kind is Kind.DOTS:
        return ngettext("{count} dot", "{count} dots", count).format(count=count)
    return votes(count)


def labels(kind: Kind, tally: Tally) -> tuple[str, ...]:
    """What each option is called here (a proposal's stances in the reader's language)."""
    return tuple(stance_label(label) for label in tally.labels) if kind is Kind.CONSENT else tally.labels


def bar(count: int, total: int) -> str:
    filled = round(BAR_WIDTH * count / total) if total else 0
    return "█" * filled + "░" * (BAR_WIDTH - filled)


def tally_lines(kind: Kind, tally: Tally, voters: int, hidden: bool = False) -> list[str]:
    """One line per option: its figure, a bar and its share (of votes; of voters for multiple choice,
    where one voter approves several). Hidden results show the options only."""
    names = labels(kind, tally)
    if hidden:
        return [f"{position}. {label}" for position, label in enumerate(names, start=1)]
    whole = voters if kind is Kind.MULTIPLE else tally.total
    lines = []
    for position, (label, count) in enumerate(zip(names, tally.counts, strict=True), start=1):
        figure = _figure(kind, count)
        if kind in (Kind.RANKED, Kind.SCORE):
            lines.append(f"{position}. {label} — {figure}")
            continue
        share = format_percentage(count / whole) if whole else format_percentage(0)
        lines.append(f"{position}. {label} — {bar(count, whole)} {figure} ({share})")
    return lines


def participation(kind: Kind, tally: Tally, voters_count: int) -> str:
    return votes(tally.total) if kind in (Kind.SINGLE, Kind.CONSENT) else voters(voters_count)


def rules_line(kind: Kind, limit: int | None, hidden: bool, quorum: int | None, percent: int | None,
               open_options: bool) -> list[str]:
    """The poll's rules, as short phrases for its status line."""
    phrases = {
        Kind.SINGLE: "",
        Kind.MULTIPLE: _("multiple choice, at most {limit}").format(limit=limit),
        Kind.RANKED: _("ranked choice"),
        Kind.SCORE: _("score 0 to 5"),
        Kind.DOTS: _("dot vote, {dots} dots each").format(dots=limit),
        Kind.CONSENT: _("proposal"),
    }
    found = [phrases[kind]] if phrases[kind] else []
    if hidden:
        found.append(_("results hidden until it closes"))
    if quorum:
        found.append(_("quorum: {count}").format(count=voters(quorum)))
    if percent:
        found.append(_("quorum: {share} of members").format(share=format_percentage(percent / 100)))
    if open_options:
        found.append(_("members may add options"))
    return found


def how_to_vote(kind: Kind, number: int, limit: int | None) -> str:
    if kind is Kind.MULTIPLE:
        return _("Press each option you choose (at most {limit}; press again to take it back), or send "
                 "/vote {number} 1 3.").format(limit=limit, number=number)
    if kind is Kind.RANKED:
        return _("Press the options in your order of preference, best first (press again to take one back), "
                 "or send /vote {number} 2 1 3.").format(number=number)
    if kind is Kind.SCORE:
        return _("Each press gives an option one more point (after 5, back to 0), or send a score for each "
                 "option: /vote {number} 5 0 3.").format(number=number)
    if kind is Kind.DOTS:
        return _("Each press puts one of your {dots} dots on an option, or send /vote {number} 2 0 1 to "
                 "spread them.").format(dots=limit, number=number)
    if kind is Kind.CONSENT:
        return _("Answer with the buttons or with /vote {number} agree, abstain, disagree or block, then a "
                 "reason if you like.").format(number=number)
    return _("Vote with the buttons or with /vote {number} <option number>.").format(number=number)


def result_lines(kind: Kind, tally: Tally, count: Count, outcome: str | None, needed: int | None,
                 voters_count: int) -> list[str]:
    """What the poll decided (or would decide now), with the reasons for a proposal's answers left to
    the caller (they may name people)."""
    names = labels(kind, tally)
    if outcome == "no_quorum":
        return [_("Result: no quorum. {voters} took part, {needed} were needed; the outcome is recorded as no "
                  "quorum.").format(voters=voters(voters_count), needed=voters(needed or 0))]
    if count.stances is not None:
        stances = count.stances
        figures = _("{agree} agree, {disagree} disagree, {abstain} abstain, {block} block").format(
            agree=stances.agree, disagree=stances.disagree, abstain=stances.abstain, block=stances.block)
        if stances.ballots == 0:
            return [_("No votes were cast.")]
        if stances.blocked:
            return [_("Result: the proposal is blocked ({figures}).").format(figures=figures)]
        if stances.passed:
            return [_("Result: the proposal is agreed ({figures}).").format(figures=figures)]
        return [_("Result: the proposal is not agreed ({figures}).").format(figures=figures)]
    winners = count.main.winners
    if not winners:
        return [_("No votes were cast.")]
    lines = []
    if kind is Kind.RANKED:
        for round_number, round_totals in enumerate(count.main.rounds, start=1):
            standing = [f"{names[i]} {int(value)}" for i, value in enumerate(round_totals) if value]
            lines.append(_("Round {round}: {standing}").format(round=round_number, standing=" · ".join(standing)))
        lines.append(_winners(_("Result by instant runoff: {options}."), names, winners))
        if count.schulze is not None and count.schulze.winners != winners:
            lines.append(_winners(_("The Schulze method, which compares every pair of options, would choose "
                                    "{options}."), names, count.schulze.winners))
        return lines
    top = _figure(kind, int(max(count.main.totals)))
    if len(winners) == 1:
        return [_("Result: {option} with {votes}.").format(option=quoted(names[winners[0] - 1]), votes=top)]
    return [_("Result: a tie between {options}, with {votes} each.").format(
        options=format_list([quoted(names[w - 1]) for w in winners]), votes=top)]


def _winners(template: str, names: tuple[str, ...], winners: tuple[int, ...]) -> str:
    return template.format(options=format_list([quoted(names[w - 1]) for w in winners]))


def stance_of(position: int) -> str:
    return stance_label(STANCES[position - 1])
