"""The PA side: initiative profiles and team types, officers, their sessions, API keys and digests.

Revision ID: core_0008
Revises: core_0007
"""

import sqlalchemy as sa
from alembic import op

revision = "core_0008"
down_revision = "core_0007"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"),
                                   ondelete="CASCADE")


def upgrade() -> None:
    with op.batch_alter_table("initiatives") as batch:
        batch.add_column(sa.Column("description", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("phase", sa.String(length=16), nullable=False, server_default="engage"))
        batch.add_column(sa.Column("partner", sa.String(length=200), nullable=False, server_default=""))
        batch.add_column(sa.Column("listed", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("join_url", sa.String(length=300), nullable=False, server_default=""))
    with op.batch_alter_table("memberships") as batch:
        batch.add_column(sa.Column("team", sa.String(length=24), nullable=False, server_default="citizen"))
    op.create_table(
        "officers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sees_all", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_officers")),
    )
    op.create_table(
        "officer_initiatives",
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("initiative_id", sa.Integer(), nullable=False),
        _fk("officer_initiatives", "officer_id", "officers"),
        _fk("officer_initiatives", "initiative_id", "initiatives"),
        sa.PrimaryKeyConstraint("officer_id", "initiative_id", name=op.f("pk_officer_initiatives")),
    )
    op.create_index(op.f("ix_officer_initiatives_initiative_id"), "officer_initiatives", ["initiative_id"])
    op.create_table(
        "officer_identities",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        _fk("officer_identities", "user_id", "users"),
        _fk("officer_identities", "officer_id", "officers"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_officer_identities")),
    )
    op.create_index(op.f("ix_officer_identities_officer_id"), "officer_identities", ["officer_id"])
    op.create_table(
        "officer_codes",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        _fk("officer_codes", "officer_id", "officers"),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_officer_codes")),
    )
    op.create_index(op.f("ix_officer_codes_officer_id"), "officer_codes", ["officer_id"])
    op.create_table(
        "used_logins",
        sa.Column("nonce_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("nonce_hash", name=op.f("pk_used_logins")),
    )
    op.create_index(op.f("ix_used_logins_expires_at"), "used_logins", ["expires_at"])
    op.create_table(
        "officer_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        _fk("officer_sessions", "officer_id", "officers"),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_officer_sessions")),
    )
    op.create_index(op.f("ix_officer_sessions_officer_id"), "officer_sessions", ["officer_id"])
    op.create_index(op.f("ix_officer_sessions_expires_at"), "officer_sessions", ["expires_at"])
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        _fk("api_keys", "officer_id", "officers"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_keys_prefix")),
    )
    op.create_index(op.f("ix_api_keys_officer_id"), "api_keys", ["officer_id"])
    op.create_table(
        "digest_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("frequency", sa.String(length=8), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("minute", sa.Integer(), nullable=False),
        sa.Column("when_empty", sa.String(length=8), nullable=False),
        sa.Column("by_email", sa.Boolean(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=False),
        _fk("digest_subscriptions", "officer_id", "officers"),
        _fk("digest_subscriptions", "user_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_subscriptions")),
        sa.UniqueConstraint("officer_id", name=op.f("uq_digest_subscriptions_officer_id")),
        sa.UniqueConstraint("user_id", name=op.f("uq_digest_subscriptions_user_id")),
    )
    op.create_index(op.f("ix_digest_subscriptions_next_at"), "digest_subscriptions", ["next_at"])


def downgrade() -> None:
    for table in ("digest_subscriptions", "api_keys", "officer_sessions", "used_logins", "officer_codes",
                  "officer_identities", "officer_initiatives", "officers"):
        op.drop_table(table)
    with op.batch_alter_table("memberships") as batch:
        batch.drop_column("team")
    with op.batch_alter_table("initiatives") as batch:
        for column in ("join_url", "listed", "partner", "phase", "description"):
            batch.drop_column(column)
