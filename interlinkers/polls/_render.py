"""How a poll reads in a chat: question, options with counts and text bars, status line."""

from __future__ import annotations

from dataclasses import dataclass

from bot.i18n import _, format_percentage, ngettext

BAR_WIDTH = 10


@dataclass(frozen=True, slots=True)
class Tally:
    labels: tuple[str, ...]
    counts: tuple[int, ...]

    @property
    def total(self) -> int:
        return sum(self.counts)

    @property
    def winners(self) -> tuple[str, ...]:
        if self.total == 0:
            return ()
        best = max(self.counts)
        return tuple(label for label, count in zip(self.labels, self.counts, strict=True) if count == best)


def votes(count: int) -> str:
    return ngettext("{count} vote", "{count} votes", count).format(count=count)


def bar(count: int, total: int) -> str:
    filled = round(BAR_WIDTH * count / total) if total else 0
    return "█" * filled + "░" * (BAR_WIDTH - filled)


def tally_lines(tally: Tally) -> list[str]:
    lines = []
    for position, (label, count) in enumerate(zip(tally.labels, tally.counts, strict=True), start=1):
        share = format_percentage(count / tally.total) if tally.total else format_percentage(0)
        lines.append(f"{position}. {label} — {bar(count, tally.total)} {votes(count)} ({share})")
    return lines


def result_line(tally: Tally) -> str:
    winners = tally.winners
    if not winners:
        return _("No votes were cast.")
    if len(winners) == 1:
        return _("Result: “{option}” with {votes}.").format(option=winners[0], votes=votes(max(tally.counts)))
    return _("Result: a tie between {options}, with {votes} each.").format(
        options=", ".join(f"“{w}”" for w in winners), votes=votes(max(tally.counts))
    )
