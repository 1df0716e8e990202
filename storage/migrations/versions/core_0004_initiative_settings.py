"""Settings an initiative's organisers choose from the chat.

Revision ID: core_0004
Revises: core_0003
"""

import sqlalchemy as sa
from alembic import op

revision = "core_0004"
down_revision = "core_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "initiative_settings",
        sa.Column("initiative_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(["initiative_id"], ["initiatives.id"],
                                name=op.f("fk_initiative_settings_initiative_id_initiatives"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("initiative_id", "key", name=op.f("pk_initiative_settings")),
    )


def downgrade() -> None:
    op.drop_table("initiative_settings")
