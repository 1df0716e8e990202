"""Reading ranked ballots: a ranking lists option numbers best first; it may stop early (the options it
leaves out rank below every listed one, equal among themselves) but may not repeat an option."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from interlinkers.polls.methods._result import BallotError, check_option


def rankings(options: int, ballots: Iterable[Sequence[int]]) -> list[tuple[int, ...]]:
    checked = []
    for ballot in ballots:
        ranking = tuple(ballot)
        for option in ranking:
            check_option(option, options)
        if len(set(ranking)) != len(ranking):
            raise BallotError(f"a ranking names an option twice: {ranking}")
        checked.append(ranking)
    return checked
