"""Scheduling: an event's place can carry a point on the map (shared location or typed coordinates).

Revision ID: scheduling_0002
Revises: scheduling_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "scheduling_0002"
down_revision = "scheduling_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sched_events") as batch:
        batch.add_column(sa.Column("latitude", sa.Float(), nullable=True))
        batch.add_column(sa.Column("longitude", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sched_events") as batch:
        batch.drop_column("longitude")
        batch.drop_column("latitude")
