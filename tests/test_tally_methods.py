"""The pure tally modules against published examples with known results, and against bad ballots."""

from __future__ import annotations

import pytest

from interlinkers.polls.methods import BallotError, approval, consent, dots, irv, plurality, schulze, score

# Wikipedia, "Instant-runoff voting" and "Condorcet method": Tennessee choosing its capital. Voters live in
# Memphis (42 %), Nashville (26 %), Chattanooga (15 %) and Knoxville (17 %) and rank by distance.
# Plurality elects Memphis, IRV Knoxville, and every Condorcet method (Schulze too) Nashville.
MEMPHIS, NASHVILLE, CHATTANOOGA, KNOXVILLE = 1, 2, 3, 4
TENNESSEE = (
    [(MEMPHIS, NASHVILLE, CHATTANOOGA, KNOXVILLE)] * 42
    + [(NASHVILLE, CHATTANOOGA, KNOXVILLE, MEMPHIS)] * 26
    + [(CHATTANOOGA, KNOXVILLE, NASHVILLE, MEMPHIS)] * 15
    + [(KNOXVILLE, CHATTANOOGA, NASHVILLE, MEMPHIS)] * 17
)


def test_tennessee_plurality_irv_and_schulze_elect_three_different_cities() -> None:
    assert plurality.tally(4, [ranking[0] for ranking in TENNESSEE]).winners == (MEMPHIS,)
    result = irv.tally(4, TENNESSEE)
    assert result.winners == (KNOXVILLE,)
    assert result.rounds[0] == (42, 26, 15, 17)  # Chattanooga goes first
    assert result.rounds[1] == (42, 26, 0, 32)  # then Nashville
    assert result.rounds[2] == (42, 0, 0, 58)
    assert schulze.tally(4, TENNESSEE).winners == (NASHVILLE,)


# Wikipedia, "Schulze method": 45 voters, five candidates; the winner is E and the full order E > A > C > B > D.
A, B, C, D, E = 1, 2, 3, 4, 5
SCHULZE_EXAMPLE = (
    [(A, C, B, E, D)] * 5 + [(A, D, E, C, B)] * 5 + [(B, E, D, A, C)] * 8 + [(C, A, B, E, D)] * 3
    + [(C, A, E, B, D)] * 7 + [(C, B, A, D, E)] * 2 + [(D, C, E, B, A)] * 7 + [(E, B, A, D, C)] * 8
)


def test_schulze_wikipedia_example() -> None:
    d = schulze.pairwise(5, [tuple(r) for r in SCHULZE_EXAMPLE])
    assert d[A - 1][B - 1] == 20 and d[B - 1][A - 1] == 25  # the pairwise table as published
    assert d[C - 1][D - 1] == 17 and d[D - 1][C - 1] == 28
    assert d[A - 1][D - 1] == 30 and d[E - 1][D - 1] == 31
    p = schulze.strongest_paths(d)
    assert p[E - 1][A - 1] == 25 and p[A - 1][E - 1] == 24  # the strongest paths as published
    assert p[B - 1][D - 1] == 33 and p[D - 1][A - 1] == 25 and p[C - 1][B - 1] == 29
    result = schulze.tally(5, SCHULZE_EXAMPLE)
    assert result.winners == (E,)
    assert result.ranking == ((E,), (A,), (C,), (B,), (D,))


def test_irv_majority_in_the_first_round_exhausted_ballots_and_ties() -> None:
    assert irv.tally(3, [(1,), (1,), (2,)]).winners == (1,)
    # Exhausted rankings stop counting towards the majority: after 3 goes, 1 has 2 of the 3 live ballots.
    result = irv.tally(3, [(1,), (1,), (2,), (2,), (3,)])
    assert result.rounds[-1] == (2, 2, 0) and result.winners == (1, 2)
    assert irv.tally(2, [(1,), (2,)]).winners == (1, 2)
    assert irv.tally(3, []).winners == ()
    # A tie for last with no earlier round to separate it: the later option (4) goes, its ballot moves to 3.
    tie = [(1,)] * 4 + [(2,)] * 3 + [(3, 2)] * 2 + [(4, 3)] * 2
    assert irv.tally(4, tie).rounds[1] == (4, 3, 4, 0)


def test_approval_score_and_dots() -> None:
    assert approval.tally(3, [{1, 2}, {2}, {2, 3}], at_most=2).totals == (1, 3, 1)
    assert score.tally(3, [{1: 5, 2: 3}, {1: 0, 2: 4, 3: 5}]).totals == (5, 7, 5)
    assert score.tally(3, [{1: 5, 2: 3}, {1: 0, 2: 4, 3: 5}]).winners == (2,)
    assert dots.tally(3, [{1: 3}, {2: 2, 3: 1}], dots=3).winners == (1,)
    assert plurality.tally(2, [1, 2]).winners == (1, 2)


def test_consent_one_block_stops_the_proposal() -> None:
    three = consent.tally(["agree", "agree", "block"])
    assert three.blocked and not three.passed and three.ballots == 3
    assert consent.tally(["agree", "abstain", "disagree", "agree"]).passed
    assert not consent.tally(["agree", "disagree"]).passed


@pytest.mark.parametrize("count", [
    lambda: plurality.tally(2, [3]),
    lambda: approval.tally(3, [{1, 2, 3}], at_most=2),
    lambda: score.tally(2, [{1: 6}]),
    lambda: dots.tally(2, [{1: 2, 2: 2}], dots=3),
    lambda: dots.tally(2, [{1: -1}], dots=3),
    lambda: irv.tally(3, [(1, 1)]),
    lambda: schulze.tally(3, [(4,)]),
    lambda: consent.tally(["maybe"]),
])
def test_a_malformed_ballot_is_refused(count: object) -> None:
    with pytest.raises(BallotError):
        count()  # type: ignore[operator]
