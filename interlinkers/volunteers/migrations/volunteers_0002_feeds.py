"""Volunteers: each person's calendar feed of their shifts (only a hash of its token).

Revision ID: volunteers_0002
Revises: volunteers_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "volunteers_0002"
down_revision = "volunteers_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('vol_feeds',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_vol_feeds_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_vol_feeds')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_vol_feeds_token_hash'))
    )


def downgrade() -> None:
    op.drop_table('vol_feeds')
