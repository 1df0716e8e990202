"""Polls on the PA side: participation, turnout and results for the dashboard, the digest's lines and the
files an officer downloads (``bot.panels``' vocabulary; the core knows no poll).

- Participation (``activity``): every ballot ever cast, superseded ones included (a changed or withdrawn
  vote is something its voter did that week), with the ballot's ``voter_key`` as the person (``u:<id>`` in
  named polls, the same key every Interlinker writes) and every poll created, by its creator. An anonymous
  ballot carries its poll's creation time, not its own (so that it follows nobody), and a keyed hash per
  poll as its voter: anonymous voters count in the week the poll began, once per poll. Ballots of people
  who asked to be forgotten keep one key per ballot (``erased:<id>``).
- Turnout: distinct voters (current ballots, one per voter) over the initiative's members now.
- Results of closed polls: what was recorded for the PA when the poll closed (the core's ``Outcome``), or
  recounted from the ballots by the poll's own method where no such record exists; figures per option are
  the poll's final (recounted) figures.
- Exports: every closed poll's ballots, anonymised (``_export``: named by receipt only, JSON and CSV), and
  one CSV of the polls, whose creators appear only as pseudonyms.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import _, format_list, format_moment, format_number, format_percentage, ngettext, quoted
from bot.officers import pseudonym
from bot.panels import Chart, Export, Figure, Panel, Scope, Series, Table, csv_file, person_key, utc_text
from interlinkers.polls import _kinds as kinds
from interlinkers.polls import _render as render
from interlinkers.polls import _store as store
from interlinkers.polls._export import as_csv, export
from interlinkers.polls._kinds import Kind
from interlinkers.polls._models import Ballot, Poll
from interlinkers.polls._shared import title
from interlinkers.polls._store import PollState
from storage.models import Initiative, Membership, Outcome

MAX_RESULTS = 10  # closed polls shown with their own results panel, the latest first
LABEL_WIDTH = 40  # a chart label: the poll's number and the start of its question


@dataclass(frozen=True, slots=True)
class PollFigures:
    """A poll as the PA sees it: its turnout now and, once closed, how it ended."""

    poll: PollState
    initiative: str
    members: int
    voters: int
    outcome: str | None  # one of ``kinds.OUTCOMES``; None while open
    winners: tuple[str, ...]

    @property
    def turnout(self) -> float:
        return self.voters / self.members if self.members else 0.0


# --- participation ---------------------------------------------------------------------------------------


def activity() -> list[Select[Any]]:
    ballots = (select(Poll.initiative_id, Ballot.voter_key, Ballot.cast_at)
               .join(Poll, Poll.id == Ballot.poll_id).where(Ballot.voter_key.is_not(None)))
    created = (select(Poll.initiative_id, person_key(Poll.creator_id), Poll.created_at)
               .where(Poll.creator_id.is_not(None)))
    return [ballots, created]


# --- reading ---------------------------------------------------------------------------------------------


async def _polls(session: AsyncSession, initiative_ids: Sequence[int], *, since: datetime | None = None,
                 until: datetime | None = None, closed_only: bool = False) -> list[PollState]:
    """The polls of these initiatives open at some time in [since, until) (all, without a period)."""
    columns = store._POLL_COLUMNS
    query = select(*columns).where(Poll.initiative_id.in_(initiative_ids))
    if until is not None:
        query = query.where(Poll.created_at < until)
    if since is not None:
        query = query.where((Poll.closed_at.is_(None)) | (Poll.closed_at >= since))
    if closed_only:
        query = query.where(Poll.closed_at.is_not(None))
    rows = await session.execute(query.order_by(Poll.initiative_id, Poll.number))
    return [store._state(row) for row in rows]


async def closed_polls(session: AsyncSession, initiative_id: int) -> list[PollState]:
    return await _polls(session, (initiative_id,), closed_only=True)


async def _members(session: AsyncSession, initiative_ids: Sequence[int]) -> dict[int, int]:
    rows = await session.execute(select(Membership.initiative_id, func.count())
                                 .where(Membership.initiative_id.in_(initiative_ids))
                                 .group_by(Membership.initiative_id))
    return {initiative_id: int(count) for initiative_id, count in rows.all()}


async def _voters(session: AsyncSession, poll_ids: Sequence[int]) -> dict[int, int]:
    """Distinct voters of each poll: its current ballots (one per voter), as ``store.voters`` counts them."""
    if not poll_ids:
        return {}
    rows = await session.execute(select(Ballot.poll_id, func.count())
                                 .where(Ballot.poll_id.in_(poll_ids), Ballot.superseded_at.is_(None))
                                 .group_by(Ballot.poll_id))
    return {poll_id: int(count) for poll_id, count in rows.all()}


async def _recorded(session: AsyncSession, initiative_ids: Sequence[int]) -> dict[tuple[int, int], dict[str, Any]]:
    """The result recorded at each poll's latest closing, by (initiative, poll number)."""
    rows = await session.execute(select(Outcome.initiative_id, Outcome.payload)
                                 .where(Outcome.kind == "poll", Outcome.initiative_id.in_(initiative_ids))
                                 .order_by(Outcome.decided_at, Outcome.id))
    found: dict[tuple[int, int], dict[str, Any]] = {}
    for initiative_id, payload in rows.all():
        result = (payload or {}).get("result") or {}
        if isinstance(result.get("poll_number"), int):
            found[(initiative_id, result["poll_number"])] = result
    return found


async def _recount(session: AsyncSession, poll: PollState, members: int) -> tuple[str, tuple[str, ...]]:
    """How a closed poll with no recorded result ended, counted from its ballots by its method."""
    labels = (await store.tally(session, poll.id)).labels
    ballots = await store.current_ballots(session, poll)
    count = kinds.count(poll.rules(len(labels)), (ballot.choice for ballot in ballots))
    needed = kinds.required(poll.quorum, poll.quorum_percent, members)
    outcome = poll.outcome or kinds.outcome(poll.kind, count, len(ballots), needed)
    winners = tuple(labels[w - 1] for w in count.main.winners) if outcome in ("decided", "tie") else ()
    return outcome, winners


async def figures(session: AsyncSession, polls: Sequence[PollState]) -> list[PollFigures]:
    ids = sorted({poll.initiative_id for poll in polls})
    members = await _members(session, ids)
    voters = await _voters(session, [poll.id for poll in polls])
    recorded = await _recorded(session, ids) if any(not poll.is_open for poll in polls) else {}
    names = dict((await session.execute(select(Initiative.id, Initiative.name)
                                        .where(Initiative.id.in_(ids)))).all()) if ids else {}
    found = []
    for poll in polls:
        outcome: str | None = None
        winners: tuple[str, ...] = ()
        if not poll.is_open:
            result = recorded.get((poll.initiative_id, poll.number))
            if result is not None and result.get("outcome"):
                outcome, winners = str(result["outcome"]), tuple(str(w) for w in result.get("winners") or ())
            else:
                outcome, winners = await _recount(session, poll, members.get(poll.initiative_id, 0))
        found.append(PollFigures(poll, names.get(poll.initiative_id, ""), members.get(poll.initiative_id, 0),
                                 voters.get(poll.id, 0), outcome, winners))
    return found


# --- words -----------------------------------------------------------------------------------------------


def kind_name(kind: Kind) -> str:
    return {Kind.SINGLE: _("single choice"), Kind.MULTIPLE: _("multiple choice"), Kind.RANKED: _("ranked choice"),
            Kind.SCORE: _("score 0 to 5"), Kind.DOTS: _("dot vote"), Kind.CONSENT: _("proposal")}[kind]


def outcome_text(outcome: str | None, winners: Sequence[str]) -> str:
    """How a closed poll ended, as a sentence start ("“Garden” won", "No quorum"); "—" while open."""
    options = format_list([quoted(winner) for winner in winners])
    return {
        "decided": _("{options} won").format(options=options),
        "tie": _("A tie between {options}").format(options=options),
        "no_votes": _("No votes"),
        "no_quorum": _("No quorum"),
        "passed": _("Agreed"),
        "blocked": _("Blocked"),
        "rejected": _("Not agreed"),
    }.get(outcome or "", "—")


def _turnout_words(item: PollFigures) -> str:
    return ngettext("{voters} of {count} member voted", "{voters} of {count} members voted", item.members).format(
        voters=format_number(item.voters), count=format_number(item.members))


def _figure_name(kind: Kind) -> str:
    return {Kind.RANKED: _("First choices"), Kind.SCORE: _("Points"), Kind.DOTS: _("Dots")}.get(kind, _("Votes"))


# --- the dashboard ---------------------------------------------------------------------------------------


async def panels(session: AsyncSession, scope: Scope) -> list[Panel]:
    if not scope.initiative_ids:
        return []
    ids = scope.initiative_ids
    listed = await figures(session, await _polls(session, ids, since=scope.since, until=scope.until))
    closed = [item for item in listed if item.poll.closed_at is not None
              and scope.since <= item.poll.closed_at < scope.until]
    open_now = int(await session.scalar(select(func.count()).select_from(Poll).where(
        Poll.initiative_id.in_(ids), Poll.closed_at.is_(None))) or 0)
    average = sum(item.turnout for item in closed) / len(closed) if closed else None
    several = len(ids) > 1
    numbers = [(f"{item.initiative} #{item.poll.number}" if several else f"#{item.poll.number}") for item in listed]
    overview = Panel(
        title=_("Polls and decisions"),
        figures=(
            Figure(_("Polls closed in the period"), format_number(len(closed))),
            Figure(_("Open now"), format_number(open_now)),
            Figure(_("Average turnout of the polls closed in the period"),
                   format_percentage(average) if average is not None else "—"),
        ),
        chart=Chart(
            "hbar",
            tuple(textwrap.shorten(f"{number} {item.poll.question}", LABEL_WIDTH, placeholder="…")
                  for number, item in zip(numbers, listed, strict=True)),
            (Series(_("Turnout (%)"), tuple(float(round(item.turnout * 100)) for item in listed)),),
            _("Turnout of each poll open during the period: the share of its initiative's members who voted."),
        ) if listed else None,
        table=Table(
            (_("Poll"), _("Question"), _("Kind"), _("Status"), _("Voters"), _("Turnout"), _("Outcome")),
            tuple((number, item.poll.question, kind_name(item.poll.kind),
                   _("open") if item.poll.is_open else _("closed"), format_number(item.voters),
                   format_percentage(item.turnout), outcome_text(item.outcome, item.winners))
                  for number, item in zip(numbers, listed, strict=True)),
        ) if listed else None,
        empty=_("No polls were open during this period."),
    )
    found = [overview]
    latest = sorted(closed, key=lambda item: (item.poll.closed_at or scope.since, item.poll.id), reverse=True)
    for item in latest[:MAX_RESULTS]:
        found.append(await _result_panel(session, item, several))
    return found


async def _result_panel(session: AsyncSession, item: PollFigures, several: bool) -> Panel:
    """A closed poll's final figures per option, beside its turnout and how it ended."""
    poll = item.poll
    tally = await store.tally(session, poll.id)
    names = render.labels(poll.kind, tally)
    heading = title(poll) if not several else f"{item.initiative} — {title(poll)}"
    figure_name = _figure_name(poll.kind)
    return Panel(
        title=heading,
        figures=(Figure(_("Voters"), format_number(item.voters)),
                 Figure(_("Turnout"), format_percentage(item.turnout)),
                 Figure(_("Outcome"), outcome_text(item.outcome, item.winners))),
        chart=Chart("hbar", names, (Series(figure_name, tuple(float(count) for count in tally.counts)),),
                    _("The final figures of each option of poll #{number}.").format(number=poll.number))
        if item.voters else None,
        table=Table((_("Option"), figure_name),
                    tuple((name, format_number(count)) for name, count in zip(names, tally.counts, strict=True)))
        if item.voters else None,
        empty=_("No votes were cast."),
    )


# --- the digest ------------------------------------------------------------------------------------------


async def digest(session: AsyncSession, scope: Scope) -> list[str]:
    """Open polls with their turnout so far and their closing time; polls closed in the period and how
    they ended."""
    if not scope.initiative_ids:
        return []
    polls = await _polls(session, scope.initiative_ids, since=scope.since, until=scope.until)
    lines = []
    for item in await figures(session, polls):
        poll = item.poll
        if poll.is_open:
            when = (_("closes {when}").format(when=format_moment(poll.closes_at, scope.tz)) if poll.closes_at
                    else _("no closing time"))
            lines.append(_("{poll} — open: {turnout} ({share}); {when}.").format(
                poll=title(poll), turnout=_turnout_words(item), share=format_percentage(item.turnout), when=when))
        elif poll.closed_at is not None and scope.since <= poll.closed_at < scope.until:
            lines.append(_("{poll} — closed {when}. {outcome} ({turnout}).").format(
                poll=title(poll), when=format_moment(poll.closed_at, scope.tz),
                outcome=outcome_text(item.outcome, item.winners), turnout=_turnout_words(item)))
    return lines


# --- exports ---------------------------------------------------------------------------------------------

POLL_COLUMNS = (
    ("number", "The poll's number in its initiative (#N in the chat)."),
    ("question", "The question or proposal, as its creator wrote it."),
    ("kind", "single, multiple, ranked, score, dots or consent (a proposal)."),
    ("anonymous", "yes when ballots were secret (they hold no voter at all)."),
    ("created_utc", "When the poll was started, ISO 8601, UTC."),
    ("closes_utc", "The deadline set for it, if any, ISO 8601, UTC."),
    ("closed_utc", "When it closed, ISO 8601, UTC; empty while open."),
    ("status", "open or closed."),
    ("members", "The initiative's members now."),
    ("voters", "Distinct voters: the ballots that count (one per voter)."),
    ("turnout_percent", "Voters as a share of members, in whole percent."),
    ("outcome", "How it ended: decided, tie, no_votes, no_quorum, passed, blocked or rejected; empty while open."),
    ("winners", "The winning option(s), separated by ' / '."),
    ("statement", "The outcome statement the organiser wrote at closing."),
    ("created_by", "The poll's creator as a pseudonym, the same in every file of this initiative (never a name)."),
)
BALLOT_JSON_FIELDS = (
    ("format", "interlink-ballots/1."),
    ("poll", "The poll: number, question, kind, options, limit, anonymous, closed_at (UTC) and outcome."),
    ("method", "The counting method, so anyone can recount."),
    ("ballot_format", "What a ballot's choice holds for this kind of poll."),
    ("ballots", "One entry per ballot that counts: its id (the random receipt its voter can check with "
                "/myballot), its choice and, for a proposal, its reason; no name, no time."),
    ("result", "Totals, winners (option numbers) and rounds, recomputed from these ballots."),
)
BALLOT_CSV_COLUMNS = (
    ("ballot_id", "The ballot's random receipt, which only its voter can recognise (with /myballot)."),
    ("<option>", "One column per option: 1 when chosen, the rank, or the points or dots given."),
    ("stance", "A proposal's ballots: agree, abstain, disagree or block."),
    ("reason", "A proposal's ballots: the reason given, if any."),
)


async def exports(session: AsyncSession, initiative_id: int, secret: str) -> list[Export]:
    polls = await _polls(session, (initiative_id,))
    listed = await figures(session, polls)
    rows = [(item.poll.number, item.poll.question, item.poll.kind.value, "yes" if item.poll.anonymous else "no",
             utc_text(item.poll.created_at), utc_text(item.poll.closes_at), utc_text(item.poll.closed_at),
             "open" if item.poll.is_open else "closed", item.members, item.voters, round(item.turnout * 100),
             item.outcome or "", " / ".join(item.winners), item.poll.statement or "",
             pseudonym(secret, initiative_id, item.poll.creator_id)) for item in listed]
    found = [Export("polls.csv", "polls.csv", "text/csv; charset=utf-8",
                    csv_file([name for name, _doc in POLL_COLUMNS], rows), _("Polls and their turnout (CSV)"),
                    POLL_COLUMNS)]
    initiative = str(await session.scalar(select(Initiative.name).where(Initiative.id == initiative_id)) or "")
    for poll in polls:
        if poll.is_open:
            continue  # ballots are published once the poll is closed, as ``interlink ballots export`` does
        document = await export(session, initiative, poll)
        name = f"poll-{poll.number}-ballots"
        found.append(Export(f"{name}.json", f"{name}.json", "application/json",
                            json.dumps(document, ensure_ascii=False, indent=2).encode(),
                            _("Anonymised ballots of poll #{number} (JSON)").format(number=poll.number),
                            BALLOT_JSON_FIELDS))
        found.append(Export(f"{name}.csv", f"{name}.csv", "text/csv; charset=utf-8", as_csv(document).encode(),
                            _("Anonymised ballots of poll #{number} (CSV)").format(number=poll.number),
                            BALLOT_CSV_COLUMNS))
    return found
