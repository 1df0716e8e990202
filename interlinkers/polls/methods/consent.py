"""A proposal decided by consent: each member agrees, abstains, disagrees or blocks (with an optional
reason, kept by the poll, not here). One block stops the proposal; without blocks it passes when more
agree than disagree. Abstentions count as taking part, for quorum."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from interlinkers.polls.methods._result import BallotError


class Stance(StrEnum):
    AGREE = "agree"
    ABSTAIN = "abstain"
    DISAGREE = "disagree"
    BLOCK = "block"


@dataclass(frozen=True, slots=True)
class Consent:
    agree: int
    abstain: int
    disagree: int
    block: int

    @property
    def ballots(self) -> int:
        return self.agree + self.abstain + self.disagree + self.block

    @property
    def blocked(self) -> bool:
        return self.block > 0

    @property
    def passed(self) -> bool:
        return not self.blocked and self.agree > self.disagree


def tally(stances: Iterable[str]) -> Consent:
    counts: Counter[Stance] = Counter()
    for stance in stances:
        try:
            counts[Stance(stance)] += 1
        except ValueError:
            raise BallotError(f"{stance!r} is not one of {', '.join(s.value for s in Stance)}") from None
    return Consent(counts[Stance.AGREE], counts[Stance.ABSTAIN], counts[Stance.DISAGREE], counts[Stance.BLOCK])
