"""Poll numbers come from the core's counters (an upsert), seeded from the polls that exist.

Revision ID: polls_0002
Revises: polls_0001
"""

from alembic import op

revision = "polls_0002"
down_revision = "polls_0001"
branch_labels = None
depends_on = "core_0003"


def upgrade() -> None:
    op.execute(
        "INSERT INTO counters (scope, value) "
        "SELECT 'polls:' || CAST(initiative_id AS VARCHAR), MAX(number) FROM polls GROUP BY initiative_id"
    )


def downgrade() -> None:
    op.execute("DELETE FROM counters WHERE scope LIKE 'polls:%'")
