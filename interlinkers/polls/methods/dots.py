"""Dot voting: each ballot spreads at most ``dots`` dots over the options, several on one if it likes;
most dots wins."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from interlinkers.polls.methods._result import BallotError, Result, best, check_option


def tally(options: int, ballots: Iterable[Mapping[int, int]], dots: int) -> Result:
    totals = [0] * options
    count = 0
    for ballot in ballots:
        if any(value < 0 for value in ballot.values()) or sum(ballot.values()) > dots:
            raise BallotError(f"a ballot spreads {sum(ballot.values())} dots where {dots} are allowed")
        for option, value in ballot.items():
            check_option(option, options)
            totals[option - 1] += value
        count += 1
    return Result(tuple(totals), best(totals), count)
