"""Polls: polls, their options, and ballots with history.

Revision ID: polls_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "polls_0001"
down_revision = None
branch_labels = ("polls",)
depends_on = "core_0001"


def upgrade() -> None:
    op.create_table(
        "polls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("initiative_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("creator_id", sa.Integer(), nullable=True),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("chat_id", sa.String(length=255), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["initiative_id"], ["initiatives.id"], name=op.f("fk_polls_initiative_id_initiatives"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["creator_id"], ["users.id"], name=op.f("fk_polls_creator_id_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_polls")),
        sa.UniqueConstraint("initiative_id", "number", name=op.f("uq_polls_initiative_id")),
    )
    op.create_index(op.f("ix_polls_initiative_id"), "polls", ["initiative_id"], unique=False)
    op.create_table(
        "poll_options",
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["poll_id"], ["polls.id"], name=op.f("fk_poll_options_poll_id_polls"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("poll_id", "position", name=op.f("pk_poll_options")),
    )
    op.create_table(
        "poll_ballots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("voter_key", sa.String(length=64), nullable=False),
        sa.Column("voter_user_id", sa.Integer(), nullable=True),
        sa.Column("cast_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["poll_id"], ["polls.id"], name=op.f("fk_poll_ballots_poll_id_polls"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["voter_user_id"], ["users.id"], name=op.f("fk_poll_ballots_voter_user_id_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_poll_ballots")),
    )
    op.create_index(op.f("ix_poll_ballots_poll_id"), "poll_ballots", ["poll_id"], unique=False)
    op.create_index(
        "uq_poll_ballots_current", "poll_ballots", ["poll_id", "voter_key"], unique=True,
        sqlite_where=sa.text("superseded_at IS NULL"), postgresql_where=sa.text("superseded_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("poll_ballots")
    op.drop_table("poll_options")
    op.drop_table("polls")
