"""The Schulze method: from every pair of options, how many voters rank one above the other; the
strength of the strongest path of won pairwise contests from X to Y; X ranks above Y when that path is
stronger than the one from Y to X. The winners are the options no other beats this way (one, unless
the strongest paths tie). Options a ranking leaves out rank below its listed ones, equal among
themselves. ``totals[i]`` counts how many options option i+1 beats.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from interlinkers.polls.methods._rankings import rankings
from interlinkers.polls.methods._result import Result


def pairwise(options: int, ranked: list[tuple[int, ...]]) -> list[list[int]]:
    """``d[i][j]``: voters who rank option i+1 above option j+1. Identical rankings are counted once,
    with their number (a poll has few distinct rankings, however many voters)."""
    d = [[0] * options for _ in range(options)]
    for ranking, voters in Counter(ranked).items():
        place = {option: index for index, option in enumerate(ranking)}
        unranked = len(ranking)
        for i in range(1, options + 1):
            for j in range(1, options + 1):
                if i != j and place.get(i, unranked) < place.get(j, unranked):
                    d[i - 1][j - 1] += voters
    return d


def strongest_paths(d: list[list[int]]) -> list[list[int]]:
    """The widest paths over the pairwise contests each side won (Schulze's own algorithm)."""
    n = len(d)
    p = [[d[i][j] if i != j and d[i][j] > d[j][i] else 0 for j in range(n)] for i in range(n)]
    for k in range(n):
        for i in range(n):
            if i == k:
                continue
            for j in range(n):
                if j not in (i, k):
                    p[i][j] = max(p[i][j], min(p[i][k], p[k][j]))
    return p


def tally(options: int, ballots: Iterable[Sequence[int]]) -> Result:
    ranked = rankings(options, ballots)
    p = strongest_paths(pairwise(options, ranked))
    beats = [sum(1 for j in range(options) if j != i and p[i][j] > p[j][i]) for i in range(options)]
    winners = tuple(i + 1 for i in range(options)
                    if all(p[i][j] >= p[j][i] for j in range(options) if j != i)) if ranked else ()
    levels = sorted(set(beats), reverse=True)
    ranking = tuple(tuple(i + 1 for i in range(options) if beats[i] == level) for level in levels)
    return Result(tuple(float(b) for b in beats), winners, len(ranked), ranking=ranking if ranked else ())
