"""Pure tallies, one module per voting method: ballots in, a result out.

No chat, no store, no clock: the same functions serve ``/results``, closing, the ballot exports and any
third party recomputing a result from exported ballots, so a tally can be checked by anyone. Options
are numbered 1..n as the poll shows them.

- ``plurality``: one choice each (the single-choice poll).
- ``approval``: up to k choices each (multiple choice).
- ``irv``: rankings, instant runoff.
- ``schulze``: rankings, the Schulze method (shown beside IRV when the winners differ).
- ``score``: 0..5 per option.
- ``dots``: N dots spread over the options.
- ``consent``: agree / abstain / disagree / block.
"""

from interlinkers.polls.methods._result import BallotError, Result

__all__ = ["BallotError", "Result"]
