"""Reports: service requests with photos, followers and their status history.

Revision ID: reports_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "reports_0001"
down_revision = None
branch_labels = ("reports",)
depends_on = "core_0005"


def upgrade() -> None:
    op.create_table('rep_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('initiative_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('service_code', sa.String(length=64), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('address', sa.String(length=300), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('status_note', sa.Text(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('platform', sa.String(length=32), nullable=False),
    sa.Column('chat_id', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['initiative_id'], ['initiatives.id'], name=op.f('fk_rep_reports_initiative_id_initiatives'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_rep_reports_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rep_reports')),
    sa.UniqueConstraint('initiative_id', 'number', name=op.f('uq_rep_reports_initiative_id'))
    )
    op.create_index(op.f('ix_rep_reports_initiative_id'), 'rep_reports', ['initiative_id'], unique=False)
    op.create_index(op.f('ix_rep_reports_user_id'), 'rep_reports', ['user_id'], unique=False)
    op.create_table('rep_followers',
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['rep_reports.id'], name=op.f('fk_rep_followers_report_id_rep_reports'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_rep_followers_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('report_id', 'user_id', name=op.f('pk_rep_followers'))
    )
    op.create_index(op.f('ix_rep_followers_user_id'), 'rep_followers', ['user_id'], unique=False)
    op.create_table('rep_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['rep_reports.id'], name=op.f('fk_rep_history_report_id_rep_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rep_history'))
    )
    op.create_index(op.f('ix_rep_history_report_id'), 'rep_history', ['report_id'], unique=False)
    op.create_table('rep_photos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['rep_reports.id'], name=op.f('fk_rep_photos_report_id_rep_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rep_photos')),
    sa.UniqueConstraint('token', name=op.f('uq_rep_photos_token'))
    )
    op.create_index(op.f('ix_rep_photos_report_id'), 'rep_photos', ['report_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_rep_photos_report_id'), table_name='rep_photos')
    op.drop_table('rep_photos')
    op.drop_index(op.f('ix_rep_history_report_id'), table_name='rep_history')
    op.drop_table('rep_history')
    op.drop_index(op.f('ix_rep_followers_user_id'), table_name='rep_followers')
    op.drop_table('rep_followers')
    op.drop_index(op.f('ix_rep_reports_user_id'), table_name='rep_reports')
    op.drop_index(op.f('ix_rep_reports_initiative_id'), table_name='rep_reports')
    op.drop_table('rep_reports')
