"""Score voting: each ballot gives every option 0..``top`` points (unscored: 0); the highest total wins.
Totals, not averages, decide, so an option nobody scored cannot win on one enthusiastic ballot."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from interlinkers.polls.methods._result import BallotError, Result, best, check_option

TOP = 5


def tally(options: int, ballots: Iterable[Mapping[int, int]], top: int = TOP) -> Result:
    totals = [0] * options
    count = 0
    for ballot in ballots:
        for option, points in ballot.items():
            check_option(option, options)
            if not 0 <= points <= top:
                raise BallotError(f"{points} points where 0 to {top} are allowed")
            totals[option - 1] += points
        count += 1
    return Result(tuple(totals), best(totals), count)
