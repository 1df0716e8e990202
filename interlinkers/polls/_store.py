"""The polls' SQL: a vote is four statements built once, whatever the size of the poll.

Each option keeps its running count (``poll_options.votes``), changed by relative updates in the vote's
own transaction, so showing the tally never recounts the ballots. Closing recounts them once, records
that recount (the ballots are the truth) and repairs the running counts if they ever disagreed.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from interlinkers.polls._kinds import Choice, Kind, Rules, decode, weights
from interlinkers.polls._models import Ballot, Poll, PollOption
from interlinkers.polls._render import Tally
from storage.hot import Hot
from storage.sql import is_postgres, table_of

log = logging.getLogger(__name__)

_polls, _options, _ballots = table_of(Poll), table_of(PollOption), table_of(Ballot)


@dataclass(frozen=True, slots=True)
class PollState:
    """A poll as the handlers read it; changed only through the statements below."""

    id: int
    initiative_id: int
    number: int
    question: str
    creator_id: int | None
    anonymous: bool
    created_at: datetime
    closes_at: datetime | None
    closed_at: datetime | None
    kind: Kind
    choice_limit: int | None
    hidden: bool
    quorum: int | None
    quorum_percent: int | None
    open_options: bool
    statement: str | None
    outcome: str | None
    platform: str
    chat_id: str

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    def rules(self, options: int) -> Rules:
        return Rules(self.kind, options, self.choice_limit, self.number)


@dataclass(frozen=True, slots=True)
class Current:
    """The voter's ballot that counts now."""

    id: int
    position: int
    choice: str | None = None
    reason: str | None = None
    receipt: str | None = None

    def of(self, kind: Kind) -> Choice:
        return decode(kind, self.position, self.choice)


_POLL_COLUMNS = (_polls.c.id, _polls.c.initiative_id, _polls.c.number, _polls.c.question, _polls.c.creator_id,
                 _polls.c.anonymous, _polls.c.created_at, _polls.c.closes_at, _polls.c.closed_at, _polls.c.kind,
                 _polls.c.choice_limit, _polls.c.hidden, _polls.c.quorum, _polls.c.quorum_percent,
                 _polls.c.open_options, _polls.c.statement, _polls.c.outcome, _polls.c.platform, _polls.c.chat_id)
_CURRENT_COLUMNS = (_ballots.c.id, _ballots.c.position, _ballots.c.choice, _ballots.c.reason, _ballots.c.receipt)
_WIDTH = len(_POLL_COLUMNS)
_POLL_AND_BALLOT = Hot(
    select(*_POLL_COLUMNS, *_CURRENT_COLUMNS)
    .select_from(_polls)
    .outerjoin(_ballots, and_(
        _ballots.c.poll_id == _polls.c.id,
        _ballots.c.superseded_at.is_(None),
        _ballots.c.voter_key == case((_polls.c.anonymous, bindparam("anonymous_key")), else_=bindparam("named_key")),
    ))
    .where(_polls.c.id == bindparam("poll_id"))
)
_BY_NUMBER = select(*_POLL_COLUMNS).where(_polls.c.initiative_id == bindparam("initiative_id"),
                                          _polls.c.number == bindparam("number"))
_BY_ID = select(*_POLL_COLUMNS).where(_polls.c.id == bindparam("poll_id"))
_CLOSE = update(_polls).where(_polls.c.id == bindparam("poll")).values(
    closed_at=bindparam("at"), outcome=bindparam("outcome"), statement=bindparam("statement"))
_OPTIONS = Hot(select(_options.c.position, _options.c.label, _options.c.votes)
            .where(_options.c.poll_id == bindparam("poll_id")).order_by(_options.c.position))
_COUNT_STATEMENT = (
    update(_options)
    .where(_options.c.poll_id == bindparam("poll"))
    .values(votes=_options.c.votes + case((_options.c.position == bindparam("new"), 1),
                                          (_options.c.position == bindparam("old"), -1), else_=0))
    .returning(_options.c.position, _options.c.label, _options.c.votes)
)
_COUNT = Hot(_COUNT_STATEMENT)
_BALLOT_COLUMNS = ("poll_id", "position", "voter_key", "voter_user_id", "cast_at", "superseded_at", "choice", "reason",
                   "receipt")
_SET_COUNT = Hot(update(_options)
              .where(_options.c.poll_id == bindparam("poll"), _options.c.position == bindparam("option"))
              .values(votes=bindparam("count")))
_UNCOUNT = (update(_options)
            .where(_options.c.poll_id == bindparam("poll"), _options.c.position == bindparam("option"))
            .values(votes=_options.c.votes - 1))
_SUPERSEDE = Hot(update(_ballots).where(_ballots.c.id == bindparam("ballot")).values(superseded_at=bindparam("at")))
_WITHDRAW = update(_ballots).where(
    _ballots.c.poll_id == bindparam("poll"), _ballots.c.voter_key == bindparam("key"),
    _ballots.c.superseded_at.is_(None),
).values(superseded_at=bindparam("at")).returning(_ballots.c.position, _ballots.c.choice)
_CAST = Hot(_ballots.insert())
_RECOUNT = (select(_ballots.c.position, func.count())
            .where(_ballots.c.poll_id == bindparam("poll_id"), _ballots.c.superseded_at.is_(None))
            .group_by(_ballots.c.position))
_CURRENT_BALLOTS = (select(_ballots.c.receipt, _ballots.c.position, _ballots.c.choice, _ballots.c.reason,
                           _ballots.c.voter_user_id)
                    .where(_ballots.c.poll_id == bindparam("poll_id"), _ballots.c.superseded_at.is_(None))
                    .order_by(_ballots.c.receipt))
_VOTERS = select(func.count()).where(_ballots.c.poll_id == bindparam("poll_id"), _ballots.c.superseded_at.is_(None))


def _state(row: Sequence[Any]) -> PollState:
    values = list(row[:_WIDTH])
    values[9] = Kind(values[9])
    return PollState(*values)


async def poll_with_ballot(session: AsyncSession, poll_id: int, named_key: str,
                           anonymous_key: str) -> tuple[PollState, Current | None] | None:
    """The poll and the voter's current ballot in one query (the key depends on the poll's kind)."""
    row = (await _POLL_AND_BALLOT.run(session, {"poll_id": poll_id, "named_key": named_key,
                                                "anonymous_key": anonymous_key})).first()
    if row is None:
        return None
    ballot = row[_WIDTH:]
    return _state(row), (None if ballot[0] is None else Current(*ballot))


async def poll_by_number(session: AsyncSession, initiative_id: int, number: int) -> PollState | None:
    row = (await session.execute(_BY_NUMBER, {"initiative_id": initiative_id, "number": number})).first()
    return None if row is None else _state(row)


async def poll_by_id(session: AsyncSession, poll_id: int) -> PollState | None:
    row = (await session.execute(_BY_ID, {"poll_id": poll_id})).first()
    return None if row is None else _state(row)


async def tally(session: AsyncSession, poll_id: int) -> Tally:
    """The running counts: as many rows as options, however many ballots there are."""
    return _tally_of((await _OPTIONS.run(session, {"poll_id": poll_id})).rows)


def _tally_of(rows: Sequence[Sequence[Any]]) -> Tally:
    """A tally from (position, label, votes) rows in option order."""
    return Tally(tuple(row[1] for row in rows), tuple(int(row[2]) for row in rows))


async def vote(session: AsyncSession, poll_id: int, new: int, current: Current | None, ballot: dict[str, Any],
               at: datetime) -> Tally | None:
    """Mark the ballot the new one replaces (history stays: nothing is deleted), keep the new ballot, count
    one vote more for ``new`` (one less for the old option), and return the new tally; None: ``new`` is
    no option (the caller rolls back). On PostgreSQL the ballot and the counts are one statement."""
    if current is not None:
        await _SUPERSEDE.run(session, {"ballot": current.id, "at": at})
    old = -1 if current is None else current.position
    # Same option again (a proposal's new reason): the superseded and the new ballot cancel out.
    counts = {"poll": poll_id, "new": -1 if new == old else new, "old": -1 if new == old else old}
    if is_postgres(session):
        outcome = await _count_and_cast("id" in ballot).run(
            session, {**counts, **{f"ballot_{key}": value for key, value in ballot.items()}})
    else:
        outcome = await _COUNT.run(session, counts)
        await _CAST.run(session, ballot)
    rows = sorted(outcome.rows)
    return _tally_of(rows) if 1 <= new <= len(rows) else None


@functools.cache
def _count_and_cast(with_id: bool) -> Hot:
    """PostgreSQL: the new ballot (a data-modifying CTE, run whether or not it is read) and the counts'
    UPDATE … RETURNING, one round trip."""
    columns = (*_BALLOT_COLUMNS, "id") if with_id else _BALLOT_COLUMNS
    ballot = _ballots.insert().values(
        {name: bindparam(f"ballot_{name}", type_=_ballots.c[name].type) for name in columns}).cte("new_ballot")
    return Hot(_COUNT_STATEMENT.add_cte(ballot))


async def vote_figures(session: AsyncSession, rules: Rules, poll_id: int, choice: Choice, current: Current | None,
                       ballot: dict[str, Any], at: datetime) -> Tally:
    """A vote of a kind with several figures per ballot: the running figures move by the difference
    between the old ballot and the new one (one statement, whatever the poll's size)."""
    if current is not None:
        await _SUPERSEDE.run(session, {"ballot": current.id, "at": at})
    old = weights(rules, current.of(rules.kind)) if current is not None else [0] * rules.options
    new = weights(rules, choice)
    await _CAST.run(session, ballot)
    return await _move(session, poll_id, {i: n - o for i, (n, o) in enumerate(zip(new, old, strict=True), start=1)})


async def _move(session: AsyncSession, poll_id: int, deltas: dict[int, int]) -> Tally:
    changed = {position: delta for position, delta in deltas.items() if delta}
    if not changed:
        return await tally(session, poll_id)
    statement = (update(_options).where(_options.c.poll_id == poll_id)
                 .values(votes=_options.c.votes + case(changed, value=_options.c.position, else_=0))
                 .returning(_options.c.position, _options.c.label, _options.c.votes))
    return _tally_of(sorted((await session.execute(statement)).all()))


async def withdraw(session: AsyncSession, poll: PollState, voter_key: str, at: datetime) -> bool:
    """Withdraw the voter's current ballot (a retracted native-poll vote, /forgetme); False if none."""
    row = (await session.execute(_WITHDRAW, {"poll": poll.id, "key": voter_key, "at": at})).first()
    if row is None:
        return False
    if poll.kind.positional:
        await session.execute(_UNCOUNT, {"poll": poll.id, "option": row[0]})
    else:
        options = len((await tally(session, poll.id)).labels)
        figures = weights(poll.rules(options), decode(poll.kind, row[0], row[1]))
        await _move(session, poll.id, {i: -value for i, value in enumerate(figures, start=1)})
    return True


@dataclass(frozen=True, slots=True)
class StoredBallot:
    """A current ballot as exports and counts read it (``voter`` only in named polls)."""

    receipt: str | None
    choice: Choice
    reason: str | None
    voter: int | None


async def current_ballots(session: AsyncSession, poll: PollState) -> list[StoredBallot]:
    rows = await session.execute(_CURRENT_BALLOTS, {"poll_id": poll.id})
    return [StoredBallot(receipt, decode(poll.kind, position, choice), reason, voter)
            for receipt, position, choice, reason, voter in rows]


async def voters(session: AsyncSession, poll_id: int) -> int:
    return int((await session.execute(_VOTERS, {"poll_id": poll_id})).scalar_one())


async def close(session: AsyncSession, poll: PollState, at: datetime, outcome: str | None = None,
                statement: str | None = None) -> Tally:
    """Close ``poll`` and return its figures recounted from the ballots, the result on record (the
    running figures are repaired if they ever disagreed). ``outcome`` is set by ``set_outcome`` once the
    caller has counted."""
    await session.execute(_CLOSE, {"poll": poll.id, "at": at, "outcome": outcome, "statement": statement})
    running = await tally(session, poll.id)
    options = len(running.labels)
    if poll.kind.positional:
        counted: dict[int, int] = dict((await session.execute(_RECOUNT, {"poll_id": poll.id})).all())
        recount = tuple(int(counted.get(position, 0)) for position in range(1, options + 1))
    else:
        figures = [0] * options
        for ballot in await current_ballots(session, poll):
            for index, value in enumerate(weights(poll.rules(options), ballot.choice)):
                figures[index] += value
        recount = tuple(figures)
    if recount != running.counts:
        log.warning("poll %s: running counts %s differed from its ballots %s; repaired", poll.id, running.counts,
                    recount)
        for position, votes in enumerate(recount, start=1):
            await _SET_COUNT.run(session, {"poll": poll.id, "option": position, "count": votes})
    return Tally(running.labels, recount)


async def set_outcome(session: AsyncSession, poll_id: int, outcome: str) -> None:
    await session.execute(update(_polls).where(_polls.c.id == poll_id).values(outcome=outcome))


async def reopen(session: AsyncSession, poll_id: int, closes_at: datetime | None) -> None:
    await session.execute(update(_polls).where(_polls.c.id == poll_id).values(
        closed_at=None, outcome=None, statement=None, closes_at=closes_at))


async def extend(session: AsyncSession, poll_id: int, closes_at: datetime | None) -> None:
    await session.execute(update(_polls).where(_polls.c.id == poll_id).values(closes_at=closes_at))


async def ever_voted(session: AsyncSession, poll_id: int) -> bool:
    """Any ballot at all, withdrawn or superseded included: a poll with one is never deleted."""
    found = await session.execute(select(_ballots.c.id).where(_ballots.c.poll_id == poll_id).limit(1))
    return found.first() is not None


async def delete(session: AsyncSession, poll_id: int) -> None:
    await session.execute(_options.delete().where(_options.c.poll_id == poll_id))
    await session.execute(_polls.delete().where(_polls.c.id == poll_id))


async def add_option(session: AsyncSession, poll_id: int, position: int, label: str) -> None:
    await session.execute(_options.insert().values(poll_id=poll_id, position=position, label=label, votes=0))


async def open_polls(session: AsyncSession, platform: str, chat_id: str) -> list[PollState]:
    rows = await session.execute(select(*_POLL_COLUMNS).where(
        _polls.c.platform == platform, _polls.c.chat_id == chat_id, _polls.c.closed_at.is_(None))
        .order_by(_polls.c.number))
    return [_state(row) for row in rows]
