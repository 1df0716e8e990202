"""Each initiative's append-only ledger: a SHA-256 hash chain of canonical JSON entries.

Why a chain and not a Merkle tree: every verifier here reads the whole ledger (the export bundle carries
all of it, and the ballots it commits to), so a chain gives the same guarantees with a format anyone can
re-implement in a few lines; a tree only pays off for proofs about one entry without the rest.

An entry is written in the transaction that decided what it records, after locking the initiative's head
row (one upsert), so two workers appending at once queue up and the chain never forks. The entry's text
is kept exactly as hashed, so verifying never depends on re-encoding JSON the same way.

Entry format ``v`` 1 (the keys, sorted as the canonical form sorts them)::

    {"at": ISO time (UTC) it was appended, "by": actor pseudonym or null, "data": what happened,
     "kind": what kind of thing, "log": the initiative's id, "outcome": outcome uid or null,
     "prev": previous entry's hash (64 zeros for the first), "seq": 1, 2, 3…, "v": 1}
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import LedgerCheckpoint, LedgerEntry, LedgerHead
from storage.sql import insert

VERSION = 1
GENESIS = "0" * 64


def canonical(value: Any) -> bytes:
    """The canonical JSON of ``value``: keys sorted, no spaces, UTF-8, no NaN. For the values we write
    (strings, integers, booleans, null, and the floats of coordinates) this is RFC 8785 (JCS)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode()


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Head:
    size: int
    head: str
    signed: int


async def append(session: AsyncSession, initiative_id: int, kind: str, data: dict[str, Any], *,
                 by: str | None = None, outcome_uid: str | None = None) -> LedgerEntry:
    """Append an entry in ``session``'s transaction, holding the initiative's head until it ends."""
    head = await lock_head(session, initiative_id)
    seq = head.size + 1
    body = canonical({"at": datetime.now(UTC).isoformat(), "by": by, "data": data, "kind": kind,
                      "log": initiative_id, "outcome": outcome_uid, "prev": head.head, "seq": seq,
                      "v": VERSION})
    entry = LedgerEntry(initiative_id=initiative_id, seq=seq, hash=digest(body), outcome_uid=outcome_uid,
                        body=body.decode())
    session.add(entry)
    await session.execute(update(LedgerHead).where(LedgerHead.initiative_id == initiative_id)
                          .values(size=seq, head=entry.hash))
    await session.flush()
    return entry


async def lock_head(session: AsyncSession, initiative_id: int) -> Head:
    """The initiative's head, created if missing and locked until the transaction ends: PostgreSQL's
    ``ON CONFLICT DO UPDATE`` locks the row and returns its newest committed version; SQLite's first
    write already holds the database's only write lock."""
    statement = insert(session, LedgerHead).values(initiative_id=initiative_id, size=0, head=GENESIS, signed=0)
    statement = statement.on_conflict_do_update(
        index_elements=[LedgerHead.initiative_id], set_={"size": LedgerHead.size}
    ).returning(LedgerHead.size, LedgerHead.head, LedgerHead.signed)
    size, head, signed = (await session.execute(statement)).one()
    return Head(int(size), str(head), int(signed))


async def entries(session: AsyncSession, initiative_id: int) -> list[LedgerEntry]:
    return list((await session.scalars(
        select(LedgerEntry).where(LedgerEntry.initiative_id == initiative_id).order_by(LedgerEntry.seq))).all())


async def entry_of_outcome(session: AsyncSession, uid: str) -> LedgerEntry | None:
    return (await session.scalars(select(LedgerEntry).where(LedgerEntry.outcome_uid == uid)
                                  .order_by(LedgerEntry.seq.desc()).limit(1))).first()


async def checkpoints(session: AsyncSession, initiative_ids: list[int] | None = None) -> list[LedgerCheckpoint]:
    query = select(LedgerCheckpoint).order_by(LedgerCheckpoint.initiative_id, LedgerCheckpoint.size)
    if initiative_ids is not None:
        query = query.where(LedgerCheckpoint.initiative_id.in_(initiative_ids))
    return list((await session.scalars(query)).all())
