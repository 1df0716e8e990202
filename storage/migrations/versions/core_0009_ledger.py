"""The tamper-evident ledger: entries, heads and signed checkpoints; outcomes recorded before it existed
are appended now, in the order they were recorded, so every initiative's chain covers its whole history.

Revision ID: core_0009
Revises: core_0008
"""

import hashlib
import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "core_0009"
down_revision = "core_0008"
branch_labels = None
depends_on = None


def _fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["initiative_id"], ["initiatives.id"], name=op.f(f"fk_{table}_initiative_id_initiatives"),
                                   ondelete="CASCADE")


def upgrade() -> None:
    entries = op.create_table(
        "ledger_entries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("initiative_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("outcome_uid", sa.String(length=64), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        _fk("ledger_entries"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
        sa.UniqueConstraint("initiative_id", "seq", name=op.f("uq_ledger_entries_initiative_id")),
    )
    op.create_index(op.f("ix_ledger_entries_outcome_uid"), "ledger_entries", ["outcome_uid"])
    heads = op.create_table(
        "ledger_heads",
        sa.Column("initiative_id", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("head", sa.String(length=64), nullable=False),
        sa.Column("signed", sa.Integer(), nullable=False),
        _fk("ledger_heads"),
        sa.PrimaryKeyConstraint("initiative_id", name=op.f("pk_ledger_heads")),
    )
    op.create_table(
        "ledger_checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("initiative_id", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("head", sa.String(length=64), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("signature", sa.String(length=100), nullable=False),
        _fk("ledger_checkpoints"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_checkpoints")),
        sa.UniqueConstraint("initiative_id", "size", name=op.f("uq_ledger_checkpoints_initiative_id")),
    )
    _append_existing_outcomes(entries, heads)


def _append_existing_outcomes(entries: sa.Table, heads: sa.Table) -> None:
    """Format v1 of ``storage.ledger``, written out here so this migration never changes with the code."""
    bind = op.get_bind()
    outcomes = sa.table("outcomes", sa.column("id", sa.Integer), sa.column("uid", sa.String),
                        sa.column("initiative_id", sa.Integer), sa.column("kind", sa.String),
                        sa.column("payload", sa.JSON), sa.column("decided_at", sa.DateTime(timezone=True)))
    now = datetime.now(UTC).isoformat()
    chains: dict[int, tuple[int, str]] = {}
    rows = bind.execute(sa.select(outcomes).order_by(outcomes.c.id)).all()
    for row in rows:
        size, prev = chains.get(row.initiative_id, (0, "0" * 64))
        payload = row.payload if isinstance(row.payload, dict) else json.loads(row.payload)
        decided = row.decided_at if isinstance(row.decided_at, datetime) else datetime.fromisoformat(row.decided_at)
        decided = decided.replace(tzinfo=UTC) if decided.tzinfo is None else decided.astimezone(UTC)
        data = {"decided_at": decided.isoformat(), "result": payload["result"], "title": payload["title"]}
        body = json.dumps({"at": now, "by": None, "data": data, "kind": row.kind, "log": row.initiative_id,
                           "outcome": row.uid, "prev": prev, "seq": size + 1, "v": 1},
                          sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        digest = hashlib.sha256(body).hexdigest()
        bind.execute(entries.insert().values(initiative_id=row.initiative_id, seq=size + 1, hash=digest,
                                             outcome_uid=row.uid, body=body.decode()))
        chains[row.initiative_id] = (size + 1, digest)
    for initiative_id, (size, head) in chains.items():
        bind.execute(heads.insert().values(initiative_id=initiative_id, size=size, head=head, signed=0))


def downgrade() -> None:
    for table in ("ledger_checkpoints", "ledger_heads", "ledger_entries"):
        op.drop_table(table)
