"""Scheduling: date polls (slots and answers), events with RSVPs, calendar feeds.

Revision ID: scheduling_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "scheduling_0001"
down_revision = None
branch_labels = ("scheduling",)
depends_on = "core_0005"


def upgrade() -> None:
    op.create_table('sched_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('initiative_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('uid', sa.String(length=128), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=True),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('rule', sa.String(length=255), nullable=True),
    sa.Column('capacity', sa.Integer(), nullable=True),
    sa.Column('reminders', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('creator_id', sa.Integer(), nullable=True),
    sa.Column('platform', sa.String(length=32), nullable=False),
    sa.Column('chat_id', sa.String(length=255), nullable=False),
    sa.Column('thread_id', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['creator_id'], ['users.id'], name=op.f('fk_sched_events_creator_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['initiative_id'], ['initiatives.id'], name=op.f('fk_sched_events_initiative_id_initiatives'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sched_events')),
    sa.UniqueConstraint('initiative_id', 'number', name=op.f('uq_sched_events_initiative_id')),
    sa.UniqueConstraint('uid', name=op.f('uq_sched_events_uid'))
    )
    op.create_index(op.f('ix_sched_events_initiative_id'), 'sched_events', ['initiative_id'], unique=False)
    op.create_table('sched_feeds',
    sa.Column('initiative_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['initiative_id'], ['initiatives.id'], name=op.f('fk_sched_feeds_initiative_id_initiatives'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('initiative_id', name=op.f('pk_sched_feeds')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_sched_feeds_token_hash'))
    )
    op.create_table('sched_meets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('initiative_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('creator_id', sa.Integer(), nullable=True),
    sa.Column('platform', sa.String(length=32), nullable=False),
    sa.Column('chat_id', sa.String(length=255), nullable=False),
    sa.Column('thread_id', sa.String(length=255), nullable=True),
    sa.Column('closes_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['creator_id'], ['users.id'], name=op.f('fk_sched_meets_creator_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['event_id'], ['sched_events.id'], name=op.f('fk_sched_meets_event_id_sched_events'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['initiative_id'], ['initiatives.id'], name=op.f('fk_sched_meets_initiative_id_initiatives'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sched_meets')),
    sa.UniqueConstraint('initiative_id', 'number', name=op.f('uq_sched_meets_initiative_id'))
    )
    op.create_index(op.f('ix_sched_meets_initiative_id'), 'sched_meets', ['initiative_id'], unique=False)
    op.create_table('sched_rsvps',
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('answer', sa.Integer(), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['sched_events.id'], name=op.f('fk_sched_rsvps_event_id_sched_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sched_rsvps_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('event_id', 'user_id', name=op.f('pk_sched_rsvps'))
    )
    op.create_index(op.f('ix_sched_rsvps_user_id'), 'sched_rsvps', ['user_id'], unique=False)
    op.create_table('sched_slots',
    sa.Column('meet_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['meet_id'], ['sched_meets.id'], name=op.f('fk_sched_slots_meet_id_sched_meets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('meet_id', 'position', name=op.f('pk_sched_slots'))
    )
    # ### end Alembic commands ###

    op.create_table('sched_answers',
    sa.Column('meet_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('answer', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['meet_id'], ['sched_meets.id'], name=op.f('fk_sched_answers_meet_id_sched_meets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sched_answers_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('meet_id', 'user_id', 'position', name=op.f('pk_sched_answers'))
    )


def downgrade() -> None:
    for table in ("sched_answers", "sched_slots", "sched_rsvps", "sched_meets", "sched_feeds", "sched_events"):
        op.drop_table(table)
