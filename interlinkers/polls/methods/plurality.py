"""One choice per ballot; most votes wins (ties: all of the tied)."""

from __future__ import annotations

from collections.abc import Iterable

from interlinkers.polls.methods._result import Result, best, check_option


def tally(options: int, ballots: Iterable[int]) -> Result:
    totals = [0] * options
    count = 0
    for choice in ballots:
        check_option(choice, options)
        totals[choice - 1] += 1
        count += 1
    return Result(tuple(totals), best(totals), count)
