"""Jobs as data, dead letters, counters, send lanes; APScheduler's job table goes.

Revision ID: core_0003
Revises: core_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "core_0003"
down_revision = "core_0002"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("interlinker", sa.String(length=64), nullable=False),
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("chat_id", sa.String(length=255), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.UniqueConstraint("key", name=op.f("uq_jobs_key")),
    )
    op.create_index(op.f("ix_jobs_run_at"), "jobs", ["run_at"], unique=False)
    op.create_table(
        "dead_letters",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("origin", sa.String(length=255), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
    )
    op.create_table(
        "counters",
        sa.Column("scope", sa.String(length=128), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_counters")),
    )
    with op.batch_alter_table("pending_replies") as batch:
        batch.add_column(sa.Column("lane", sa.String(length=32), nullable=False, server_default=""))
        batch.create_index("ix_pending_replies_chat", ["platform", "chat_id"], unique=False)
    # APScheduler's pickled jobs: open polls' deadlines are rebuilt as rows by the polls Interlinker.
    op.execute("DROP TABLE IF EXISTS scheduled_jobs")


def downgrade() -> None:
    with op.batch_alter_table("pending_replies") as batch:
        batch.drop_index("ix_pending_replies_chat")
        batch.drop_column("lane")
    op.drop_table("counters")
    op.drop_table("dead_letters")
    op.drop_index(op.f("ix_jobs_run_at"), table_name="jobs")
    op.drop_table("jobs")
