"""Multiple choice: each ballot approves up to ``at_most`` options; most approvals wins."""

from __future__ import annotations

from collections.abc import Iterable

from interlinkers.polls.methods._result import BallotError, Result, best, check_option


def tally(options: int, ballots: Iterable[Iterable[int]], at_most: int) -> Result:
    totals = [0] * options
    count = 0
    for ballot in ballots:
        chosen = set(ballot)
        if len(chosen) > at_most:
            raise BallotError(f"{len(chosen)} choices where at most {at_most} are allowed")
        for option in chosen:
            check_option(option, options)
            totals[option - 1] += 1
        count += 1
    return Result(tuple(totals), best(totals), count)
