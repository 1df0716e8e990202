"""Each option keeps its running count, so a vote never recounts the poll; seeded from the ballots.

Revision ID: polls_0003
Revises: polls_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "polls_0003"
down_revision = "polls_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("poll_options") as batch:
        batch.add_column(sa.Column("votes", sa.Integer(), nullable=False, server_default="0"))
    op.execute(
        "UPDATE poll_options SET votes = (SELECT count(*) FROM poll_ballots b WHERE b.poll_id = poll_options.poll_id "
        "AND b.position = poll_options.position AND b.superseded_at IS NULL)"
    )


def downgrade() -> None:
    with op.batch_alter_table("poll_options") as batch:
        batch.drop_column("votes")
