"""Polls in the ledger: each closed poll's anonymised ballots as evidence in the verification bundle, and
the check that recounts them with the same pure tally modules the close used.

A poll's ledger entry (kind ``poll``) commits to its ballots by ``ballots_sha256``: SHA-256 of the
canonical JSON of the anonymised ballot list (``_export.ballot_rows``). A voter finds their ballot in that
list by the receipt ``/myballot`` gave them; nothing in it names anyone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from bot.interlinker import LedgerCheck
from interlinkers.polls import _kinds as kinds
from interlinkers.polls._dashboard import closed_polls
from interlinkers.polls._export import ballots_digest, export
from interlinkers.polls._kinds import Kind
from interlinkers.polls.methods import BallotError
from storage import ledger
from storage.models import Initiative


def path(number: int) -> str:
    return f"polls/poll-{number}.json"


async def evidence(session: AsyncSession, initiative_id: int) -> dict[str, bytes]:
    initiative = await session.get(Initiative, initiative_id)
    assert initiative is not None
    found = {}
    for poll in await closed_polls(session, initiative_id):
        document = await export(session, initiative.name, poll)
        found[path(poll.number)] = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    return found


def check(entries: Sequence[dict[str, Any]], files: Mapping[str, bytes]) -> LedgerCheck:
    found = LedgerCheck()
    last: dict[int, tuple[int, dict[str, Any]]] = {}
    for number, entry in enumerate(entries, start=1):
        if entry.get("kind") in ("poll", "poll_reopened"):
            result = entry.get("data", {}).get("result", {})
            if isinstance(result.get("poll_number"), int):
                last[result["poll_number"]] = (number, entry)
    recounted = 0
    for poll_number, (number, entry) in sorted(last.items()):
        if entry["kind"] != "poll":
            continue  # reopened: its ballots are published when it closes again
        where = f"poll #{poll_number} (ledger entry {number})"
        data = files.get(path(poll_number))
        if data is None:
            found.problems.append(f"{where}: its ballots ({path(poll_number)}) are missing from the bundle")
            continue
        try:
            document = orjson.loads(data)
            problems = _recount(document, entry["data"]["result"])
        except (ValueError, KeyError, TypeError, IndexError, BallotError) as exc:
            problems = [f"its ballots cannot be counted ({type(exc).__name__}: {exc})"]
        found.problems.extend(f"{where}: {problem}" for problem in problems)
        recounted += 1
    for name in sorted(files):
        if name.startswith("polls/poll-") and name.endswith(".json"):
            number_text = name.removeprefix("polls/poll-").removesuffix(".json")
            if not number_text.isdigit() or int(number_text) not in last:
                found.problems.append(f"{name}: ballots of a poll the ledger does not record as closed")
    found.checked.append(f"{recounted} polls recounted")
    return found


def _recount(document: dict[str, Any], result: dict[str, Any]) -> list[str]:
    """The differences between the ledger's result and a count of these ballots, each in a few words."""
    problems = []
    poll, rows = document["poll"], document["ballots"]
    kind = Kind(poll["kind"])
    options = list(poll["options"])
    committed = result.get("ballots_sha256")
    if committed is not None and not _sealed(rows, committed):
        problems.append("its ballots are not those the ledger sealed (their SHA-256 differs): a ballot was "
                        "edited, added or removed")
    if len(rows) != result.get("total_votes"):
        problems.append(f"{len(rows)} ballots, but the ledger records {result.get('total_votes')} votes")
    labels = [option["label"] for option in result.get("options", [])]
    if labels != options:
        problems.append("its options differ from those in the ledger")
    choices: list[tuple[int, ...]]
    if kind is Kind.CONSENT:
        stance = {name: (number,) for number, name in enumerate(kinds.STANCES, start=1)}
        choices = [stance[row["choice"]] for row in rows]
    else:
        choices = [tuple(row["choice"]) for row in rows]
        if not all(type(value) is int for choice in set(choices) for value in choice):
            raise ValueError("a ballot's choice holds something that is not an option number or a figure")
    count = kinds.count(kinds.Rules(kind, len(options), poll.get("limit")), choices)
    quorum = result.get("quorum") or {}
    outcome = kinds.outcome(kind, count, len(rows), quorum.get("needed"))
    winners = [options[w - 1] for w in count.main.winners] if outcome in ("decided", "tie") else []
    recount: list[tuple[str, Any, Any]] = [("outcome", outcome, result.get("outcome")),
                                           ("winners", winners, result.get("winners"))]
    if count.schulze is not None:
        recount.append(("rounds", [[int(v) for v in r] for r in count.main.rounds], result.get("rounds")))
        recount.append(("Schulze winners", [options[w - 1] for w in count.schulze.winners],
                        result.get("schulze_winners")))
    if count.stances is not None:
        recount.append(("stances", {stance: getattr(count.stances, stance) for stance in kinds.STANCES},
                        result.get("stances")))
    problems.extend(f"recounting gives {name} {mine!r}, the ledger says {theirs!r}"
                    for name, mine, theirs in recount if mine != theirs)
    return problems


def _sealed(rows: list[dict[str, Any]], committed: str) -> bool:
    """Whether ``rows`` are the ballots sealed as ``committed``. orjson writes the same canonical JSON for
    these values (strings, integers, null) ~8x faster than the json module; on a mismatch the reference
    encoder (``ballots_digest``) decides, so a difference between the two can never be reported as
    tampering."""
    if ledger.digest(orjson.dumps(rows, option=orjson.OPT_SORT_KEYS)) == committed:
        return True
    return ballots_digest(rows) == committed


def find_receipt(receipt: str, files: Mapping[str, bytes]) -> list[str]:
    wanted = receipt.strip().upper()
    lines = []
    for name in sorted(files):
        if not (name.startswith("polls/poll-") and name.endswith(".json")):
            continue
        document = json.loads(files[name])
        for row in document.get("ballots", []):
            if str(row.get("id") or "").upper() == wanted:
                poll = document["poll"]
                choice = row["choice"]
                if poll["kind"] in (Kind.SINGLE, Kind.MULTIPLE, Kind.RANKED):
                    choice = [poll["options"][n - 1] for n in choice]
                lines.append(f"receipt {wanted}: in the ballots of poll #{poll['number']} ({poll['question']!r}), "
                             f"counted as {json.dumps(choice, ensure_ascii=False)}")
    return lines
