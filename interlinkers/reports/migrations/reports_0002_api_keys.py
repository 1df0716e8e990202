"""Reports: keys for municipal systems filing through Open311 (only their hashes).

Revision ID: reports_0002
Revises: reports_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "reports_0002"
down_revision = "reports_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rep_api_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('initiative_id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['initiative_id'], ['initiatives.id'], name=op.f('fk_rep_api_keys_initiative_id_initiatives'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rep_api_keys')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_rep_api_keys_key_hash'))
    )
    op.create_index(op.f('ix_rep_api_keys_initiative_id'), 'rep_api_keys', ['initiative_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_rep_api_keys_initiative_id'), table_name='rep_api_keys')
    op.drop_table('rep_api_keys')
