"""Instant-runoff voting (IRV): count every ranking for its highest option still in the race; an option
with more than half of those counts wins; otherwise the option with the fewest is eliminated and its
ballots move on. Rankings whose options are all eliminated are exhausted and no longer count towards
the majority.

A tie for last place is broken by the earlier rounds (the option with fewer votes in the latest round
where the tied options differed goes), then by the order of the options (the later one goes), so the
result never depends on chance. When every option still in the race has the same count, they all win.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from interlinkers.polls.methods._rankings import rankings
from interlinkers.polls.methods._result import Result


def tally(options: int, ballots: Iterable[Sequence[int]]) -> Result:
    ranked = rankings(options, ballots)
    distinct = Counter(ranked).items()  # identical rankings move together, counted once per round
    continuing = set(range(1, options + 1))
    rounds: list[tuple[int, ...]] = []
    while True:
        counts = [0] * options
        for ranking, voters in distinct:
            top = next((option for option in ranking if option in continuing), None)
            if top is not None:
                counts[top - 1] += voters
        rounds.append(tuple(counts))
        active = sum(counts)
        standing = sorted(continuing)
        if active == 0:
            winners: tuple[int, ...] = ()
            break
        leader = max(standing, key=lambda option: counts[option - 1])
        if counts[leader - 1] * 2 > active:
            winners = (leader,)
            break
        if len({counts[option - 1] for option in standing}) == 1:
            winners = tuple(standing)
            break
        continuing.discard(_last(standing, rounds))
    return Result(tuple(float(c) for c in rounds[-1]), winners, len(ranked),
                  rounds=tuple(tuple(float(c) for c in r) for r in rounds))


def _last(standing: list[int], rounds: list[tuple[int, ...]]) -> int:
    fewest = min(rounds[-1][option - 1] for option in standing)
    tied = [option for option in standing if rounds[-1][option - 1] == fewest]
    for earlier in reversed(rounds[:-1]):
        if len(tied) == 1:
            break
        fewest = min(earlier[option - 1] for option in tied)
        tied = [option for option in tied if earlier[option - 1] == fewest]
    return max(tied)
