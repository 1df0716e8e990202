"""Volunteers: shifts and sign-ups (places, the waiting list, check-in and minutes served).

Revision ID: volunteers_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "volunteers_0001"
down_revision = None
branch_labels = ("volunteers",)
depends_on = "core_0005"


def upgrade() -> None:
    op.create_table('vol_shifts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('initiative_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=100), nullable=True),
    sa.Column('place', sa.String(length=200), nullable=True),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('creator_id', sa.Integer(), nullable=True),
    sa.Column('platform', sa.String(length=32), nullable=False),
    sa.Column('chat_id', sa.String(length=255), nullable=False),
    sa.Column('thread_id', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['creator_id'], ['users.id'], name=op.f('fk_vol_shifts_creator_id_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['initiative_id'], ['initiatives.id'],
                            name=op.f('fk_vol_shifts_initiative_id_initiatives'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vol_shifts')),
    sa.UniqueConstraint('initiative_id', 'number', name=op.f('uq_vol_shifts_initiative_id'))
    )
    op.create_index(op.f('ix_vol_shifts_initiative_id'), 'vol_shifts', ['initiative_id'], unique=False)
    op.create_table('vol_signups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shift_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('queued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('offered_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('swap_offered', sa.Boolean(), nullable=False),
    sa.Column('took_over_from', sa.String(length=255), nullable=True),
    sa.Column('checked_in_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attended', sa.Boolean(), nullable=True),
    sa.Column('minutes', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['shift_id'], ['vol_shifts.id'], name=op.f('fk_vol_signups_shift_id_vol_shifts'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_vol_signups_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vol_signups')),
    sa.UniqueConstraint('shift_id', 'user_id', name=op.f('uq_vol_signups_shift_id'))
    )
    op.create_index('ix_vol_signups_queue', 'vol_signups', ['shift_id', 'state'], unique=False)
    op.create_index(op.f('ix_vol_signups_user_id'), 'vol_signups', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_vol_signups_user_id'), table_name='vol_signups')
    op.drop_index('ix_vol_signups_queue', table_name='vol_signups')
    op.drop_table('vol_signups')
    op.drop_index(op.f('ix_vol_shifts_initiative_id'), table_name='vol_shifts')
    op.drop_table('vol_shifts')
