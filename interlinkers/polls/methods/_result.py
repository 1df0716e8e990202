"""What every method returns, and the one error a malformed ballot raises."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


class BallotError(ValueError):
    """A ballot the method cannot count (an unknown option, too many choices, too many dots...)."""


@dataclass(frozen=True, slots=True)
class Result:
    """``totals[i]`` is option i+1's figure (votes, points, dots); ``winners`` are option numbers (a tie
    gives several, no ballots none); ``rounds`` holds the totals of each round where a method has rounds
    (IRV), ``ranking`` the options best first where a method ranks them all (Schulze)."""

    totals: tuple[float, ...]
    winners: tuple[int, ...]
    ballots: int
    rounds: tuple[tuple[float, ...], ...] = field(default=())
    ranking: tuple[tuple[int, ...], ...] = field(default=())


def best(totals: Sequence[float]) -> tuple[int, ...]:
    """The option numbers with the highest total (none when every total is zero)."""
    top = max(totals, default=0)
    return () if top <= 0 else tuple(i for i, value in enumerate(totals, start=1) if value == top)


def check_option(option: int, options: int) -> None:
    if not 1 <= option <= options:
        raise BallotError(f"option {option} is not between 1 and {options}")
