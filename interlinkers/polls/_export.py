"""``interlink ballots export N``: a closed poll's ballots, anonymised, in a form anyone can recount.

Each ballot is named only by its random receipt (which its voter sees with /myballot), listed in receipt
order (so the order says nothing about who voted when), with no name, id or time. The JSON names the
method and its parameters and carries the result recomputed from these very ballots by the pure tally
modules (``methods``), so a third party can recount and compare; the CSV has one row per ballot.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.errors import UserError
from bot.interlinker import CliCommand
from bot.summary import spreadsheet_safe
from interlinkers.polls import _kinds as kinds
from interlinkers.polls import _store as store
from interlinkers.polls._kinds import Kind
from storage import ledger
from storage.models import Initiative

METHODS = {Kind.SINGLE: "plurality", Kind.MULTIPLE: "approval", Kind.RANKED: "irv (schulze beside it)",
           Kind.SCORE: "score 0-5", Kind.DOTS: "dots", Kind.CONSENT: "consent"}


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["export"])
    parser.add_argument("number", type=int, help="the poll's number (#N in the chat)")
    parser.add_argument("--initiative", help="the initiative's name, when several have a poll with this number")
    parser.add_argument("--format", choices=["json", "csv"], default="json")


async def _run(sessions: async_sessionmaker[AsyncSession], args: argparse.Namespace) -> str:
    async with sessions() as session:
        query = select(Initiative.id, Initiative.name).order_by(Initiative.id)
        if args.initiative:
            query = query.where(Initiative.name == args.initiative)
        found = []
        for initiative_id, name in (await session.execute(query)).all():
            poll = await store.poll_by_number(session, initiative_id, args.number)
            if poll is not None:
                found.append((name, poll))
        if not found:
            raise UserError(f"no poll #{args.number}" + (f" in {args.initiative!r}" if args.initiative else ""))
        if len(found) > 1:
            names = ", ".join(repr(name) for name, _poll in found)
            raise UserError(f"several initiatives have a poll #{args.number} ({names}): choose one with --initiative")
        name, poll = found[0]
        if poll.is_open:
            raise UserError(f"poll #{args.number} is still open: its ballots are exported once it is closed")
        document = await export(session, name, poll)
    return json.dumps(document, ensure_ascii=False, indent=2) if args.format == "json" else as_csv(document)


async def export(session: AsyncSession, initiative: str, poll: store.PollState) -> dict[str, Any]:
    labels = (await store.tally(session, poll.id)).labels
    rules = poll.rules(len(labels))
    ballots = await store.current_ballots(session, poll)
    count = kinds.count(rules, (ballot.choice for ballot in ballots))
    rows = ballot_rows(poll.kind, ballots)
    return {
        "format": "interlink-ballots/1",
        "poll": {"initiative": initiative, "number": poll.number, "question": poll.question, "kind": poll.kind.value,
                 "options": list(labels), "limit": poll.choice_limit, "anonymous": poll.anonymous,
                 "closed_at": poll.closed_at.isoformat() if poll.closed_at else None, "outcome": poll.outcome},
        "method": METHODS[poll.kind],
        "ballot_format": _BALLOT_FORMAT[poll.kind],
        "ballots": rows,
        "ballots_sha256": ballots_digest(rows),
        "result": {"totals": list(count.main.totals), "winners": list(count.main.winners),
                   "rounds": [list(r) for r in count.main.rounds],
                   "schulze_winners": list(count.schulze.winners) if count.schulze else None},
    }


def ballot_rows(kind: Kind, ballots: Sequence[store.StoredBallot]) -> list[dict[str, Any]]:
    """The anonymised ballots: receipt and choice (a proposal's: stance and reason), in receipt order."""
    rows = []
    for ballot in sorted(ballots, key=lambda b: b.receipt or ""):
        row: dict[str, Any] = {"id": ballot.receipt, "choice": list(ballot.choice)}
        if kind is Kind.CONSENT:
            row["choice"] = kinds.STANCES[ballot.choice[0] - 1]
            row["reason"] = ballot.reason
        rows.append(row)
    return rows


def ballots_digest(rows: list[dict[str, Any]]) -> str:
    """What the poll's ledger entry commits to: SHA-256 of the canonical JSON of the anonymised ballots."""
    return ledger.digest(ledger.canonical(rows))


_BALLOT_FORMAT = {
    Kind.SINGLE: "choice: [option number]",
    Kind.MULTIPLE: "choice: the option numbers chosen (at most poll.limit)",
    Kind.RANKED: "choice: option numbers, best first (unlisted options rank below, equal)",
    Kind.SCORE: "choice: points 0-5 per option, in option order",
    Kind.DOTS: "choice: dots per option, in option order (at most poll.limit in all)",
    Kind.CONSENT: "choice: agree, abstain, disagree or block; reason as given",
}


def as_csv(document: dict[str, Any]) -> str:
    """One row per ballot: its id and one column per option (a mark, a rank or a figure); a proposal's
    ballots give the stance and the reason. Cells are spreadsheet-safe."""
    out = io.StringIO()
    writer = csv.writer(out)
    poll = document["poll"]
    if poll["kind"] == Kind.CONSENT:
        writer.writerow(["ballot_id", "stance", "reason"])
        for ballot in document["ballots"]:
            reason = spreadsheet_safe(ballot["reason"] or "")
            writer.writerow([spreadsheet_safe(ballot["id"]), ballot["choice"], reason])
        return out.getvalue()
    options = poll["options"]
    writer.writerow(["ballot_id", *(spreadsheet_safe(label) for label in options)])
    for ballot in document["ballots"]:
        cells: list[Any] = [""] * len(options)
        choice = ballot["choice"]
        if poll["kind"] in (Kind.SINGLE, Kind.MULTIPLE):
            for option in choice:
                cells[option - 1] = 1
        elif poll["kind"] == Kind.RANKED:
            for rank, option in enumerate(choice, start=1):
                cells[option - 1] = rank
        else:
            cells = [*choice, *[0] * (len(options) - len(choice))]
        writer.writerow([spreadsheet_safe(ballot["id"]), *cells])
    return out.getvalue()


COMMANDS = (CliCommand("ballots", "export a closed poll's ballots, anonymised, so anyone can recount it",
                       _arguments, _run),)
