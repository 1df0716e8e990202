"""Reports: what a municipality's own Open311 endpoint calls a forwarded report, and its last status.

Revision ID: reports_0003
Revises: reports_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "reports_0003"
down_revision = "reports_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rep_reports") as batch:
        batch.add_column(sa.Column("remote_id", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("remote_token", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("remote_state", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rep_reports") as batch:
        batch.drop_column("remote_state")
        batch.drop_column("remote_token")
        batch.drop_column("remote_id")
