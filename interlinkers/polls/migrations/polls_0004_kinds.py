"""Poll kinds and their rules (multiple, ranked, score, dots, consent; hidden results, quorum, options
members add, outcome statement), and ballots with several figures, a reason and a random receipt.

Revision ID: polls_0004
Revises: polls_0003
"""

import sqlalchemy as sa
from alembic import op

revision = "polls_0004"
down_revision = "polls_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("polls") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="single"))
        batch.add_column(sa.Column("choice_limit", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("hidden", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("quorum", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("quorum_percent", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("open_options", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("statement", sa.Text(), nullable=True))
        batch.add_column(sa.Column("outcome", sa.String(16), nullable=True))
    with op.batch_alter_table("poll_ballots") as batch:
        batch.add_column(sa.Column("choice", sa.Text(), nullable=True))
        batch.add_column(sa.Column("reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("receipt", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("poll_ballots") as batch:
        for column in ("receipt", "reason", "choice"):
            batch.drop_column(column)
    with op.batch_alter_table("polls") as batch:
        for column in ("outcome", "statement", "open_options", "quorum_percent", "quorum", "hidden", "choice_limit",
                       "kind"):
            batch.drop_column(column)
