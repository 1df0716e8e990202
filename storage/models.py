"""The core's tables. Interlinkers declare theirs on the same ``Base`` in their own folder."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


def utcday() -> datetime:
    """Today at 00:00 UTC: when people joined is kept to the day, so it cannot be matched against the
    time of an anonymous ballot."""
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite forgets the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON}


class Initiative(Base):
    """A grassroots initiative: the unit that owns polls, schedules, outcomes, with one chat or several
    (``/link``). Its profile (description, INTERLINK phase, partner PA, whether the public directory lists
    it) is set by its organisers with ``/initiative``."""

    __tablename__ = "initiatives"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    phase: Mapped[str] = mapped_column(String(16), default="engage", server_default="engage")
    partner: Mapped[str] = mapped_column(String(200), default="", server_default="")
    listed: Mapped[bool] = mapped_column(default=False, server_default=false())
    join_url: Mapped[str] = mapped_column(String(300), default="", server_default="")  # the group's invite link


class InitiativeSetting(Base):
    """A setting an initiative's organisers chose from the chat (``/settings``); a missing row means the
    default. Keys are namespaced by whoever declares them (``polls.reminders``)."""

    __tablename__ = "initiative_settings"
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiatives.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class ChatLink(Base):
    """Which initiative a chat on some network belongs to."""

    __tablename__ = "chats"
    platform: Mapped[str] = mapped_column(String(32), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiatives.id", ondelete="CASCADE"), index=True)
    title: Mapped[str | None] = mapped_column(String(200))


class User(Base):
    """A person on one network. Only what is needed: a display name and a language preference."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("platform", "platform_user_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    platform_user_id: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(200))
    locale: Mapped[str | None] = mapped_column(String(8))
    timezone: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcday)


class DirectChat(Base):
    """A private chat someone opened with the bot: where messages meant for them alone go (Telegram lets a
    bot write only to people who started it). Recorded when they write there."""

    __tablename__ = "direct_chats"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(255))


class UserSetting(Base):
    """A setting a person chose for themselves (``SettingSpec.personal``), e.g. no private reminders."""

    __tablename__ = "user_settings"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class HeldMessage(Base):
    """A message for someone who has no private chat with the bot yet, kept until they open one."""

    __tablename__ = "held_messages"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    message: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Membership(Base):
    __tablename__ = "memberships"
    initiative_id: Mapped[int] = mapped_column(
        ForeignKey("initiatives.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[int] = mapped_column(Integer)
    joined_at: Mapped[datetime] = mapped_column(default=utcday)
    # INTERLINK's team types: citizen, public_administration, nonprofit, forprofit (set by organisers).
    team: Mapped[str] = mapped_column(String(24), default="citizen", server_default="citizen")


class ProcessedUpdate(Base):
    """One row per handled update: inserted in the update's own transaction, so a redelivery is a no-op."""

    __tablename__ = "processed_updates"
    platform: Mapped[str] = mapped_column(String(32), primary_key=True)
    update_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Conversation(Base):
    """A multi-step dialog waiting for this user's next message in this chat."""

    __tablename__ = "conversations"
    platform: Mapped[str] = mapped_column(String(32), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    thread_id: Mapped[str] = mapped_column(String(255), primary_key=True, default="")
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    interlinker: Mapped[str] = mapped_column(String(64))
    dialog: Mapped[str] = mapped_column(String(64))
    step: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    expires_at: Mapped[datetime]


class SentMessage(Base):
    """Platform message ids of keyed messages, so that later edits find them."""

    __tablename__ = "sent_messages"
    platform: Mapped[str] = mapped_column(String(32), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(255))


class PendingReply(Base):
    """A message decided by a committed update or job and not yet handed to its network: written in the
    same transaction, deleted once sent, sent again after a crash (with the same delivery id)."""

    __tablename__ = "pending_replies"
    __table_args__ = (Index("ix_pending_replies_chat", "platform", "chat_id"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    origin: Mapped[str] = mapped_column(String(512), index=True)
    position: Mapped[int] = mapped_column(Integer)
    platform: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str] = mapped_column(String(255))
    thread_id: Mapped[str | None] = mapped_column(String(255))
    chat_title: Mapped[str | None] = mapped_column(String(255))
    is_private: Mapped[bool] = mapped_column(default=False)
    message: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Who caused it, as a short keyed hash: the sender serves a chat's users in turn, so one member's
    # flood of commands does not bury everyone else's answers behind the group's rate limit.
    lane: Mapped[str] = mapped_column(String(32), default="")


class Job(Base):
    """Work due at a time, written in the transaction that decided it (jobs as data). A worker runs a due
    job in a transaction that also deletes its row, so it runs once even with several workers, and a
    crash mid-run leaves the row for the next try. ``key`` names it for replacing and cancelling."""

    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    interlinker: Mapped[str] = mapped_column(String(64))
    job: Mapped[str] = mapped_column(String(64))
    platform: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str] = mapped_column(String(255))
    thread_id: Mapped[str | None] = mapped_column(String(255))
    params: Mapped[dict[str, Any]]
    run_at: Mapped[datetime] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class DeadLetter(Base):
    """An update or job that still failed after its retries: kept whole, counted by /healthz, listed and
    replayed with ``interlink dead-letters``. Its update is acknowledged because it is kept here."""

    __tablename__ = "dead_letters"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    platform: Mapped[str] = mapped_column(String(32))
    origin: Mapped[str] = mapped_column(String(255))
    payload: Mapped[dict[str, Any]]
    error: Mapped[str] = mapped_column(Text)
    failed_at: Mapped[datetime] = mapped_column(default=utcnow)


class Counter(Base):
    """Numbers shown to people (poll #N): incremented with an upsert, so two creators never get one N."""

    __tablename__ = "counters"
    scope: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class Outcome(Base):
    """A decision or result an initiative reached, written in the transaction that reached it."""

    __tablename__ = "outcomes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(64), unique=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiatives.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]]
    decided_at: Mapped[datetime]


class OutboxItem(Base):
    """An outcome waiting to reach the PA side; delivered with retries, marked when delivered."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    outcome_id: Mapped[int] = mapped_column(ForeignKey("outcomes.id", ondelete="CASCADE"), index=True)
    destination: Mapped[str] = mapped_column(String(32), default="pa_store")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    delivered_at: Mapped[datetime | None] = mapped_column(index=True)
    last_error: Mapped[str | None] = mapped_column(Text)


class LinkCode(Base):
    """A one-time code an organiser sends in another chat to make it part of their initiative (``/link``);
    only its hash is kept, and it expires."""

    __tablename__ = "link_codes"
    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiatives.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime]


class Delivery(Base):
    """Something an Interlinker sends to a system outside (a municipality's Open311 endpoint): written in
    the transaction that decided it, sent by ``storage.deliveries`` with retries, once. ``key`` makes the
    decision idempotent; ``claimed_until`` lets one worker send it while it talks to the far side, outside
    any transaction; ``result`` is what the far side answered."""

    __tablename__ = "deliveries"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    interlinker: Mapped[str] = mapped_column(String(64))
    destination: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    claimed_until: Mapped[datetime | None]
    uncertain: Mapped[bool] = mapped_column(default=False)  # an earlier try may have reached the far side
    delivered_at: Mapped[datetime | None] = mapped_column(index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None]


class AdapterStateRow(Base):
    __tablename__ = "adapter_state"
    platform: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class PAOutcome(Base):
    """The PA-facing store: what officers read, export and get summaries of. It may live in another
    database (INTERLINK_PA_DATABASE_URL); rows arrive only through the outbox."""

    __tablename__ = "pa_outcomes"
    uid: Mapped[str] = mapped_column(String(64), primary_key=True)
    initiative: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(Text)
    document: Mapped[dict[str, Any]]
    decided_at: Mapped[datetime] = mapped_column(index=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class Officer(Base):
    """A PA officer: reads the dashboard and the API for the initiatives they are given, in their own
    language and time zone, and may get digests. No password: they log in by short-lived signed links."""

    __tablename__ = "officers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    locale: Mapped[str] = mapped_column(String(8))
    timezone: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Sees every initiative, present and future (a municipality's participation office), not only granted ones.
    sees_all: Mapped[bool] = mapped_column(default=False)


class OfficerInitiative(Base):
    __tablename__ = "officer_initiatives"
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id", ondelete="CASCADE"), primary_key=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiatives.id", ondelete="CASCADE"), primary_key=True,
                                               index=True)


class OfficerIdentity(Base):
    """An officer's chat identity (one per network at most), so ``/dashboard`` and ``/digest`` know them."""

    __tablename__ = "officer_identities"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id", ondelete="CASCADE"), index=True)


class OfficerCode(Base):
    """A one-time code shown on the dashboard that links the chat account sending it (``/dashboard CODE``)
    to the officer; only its hash is kept."""

    __tablename__ = "officer_codes"
    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime]


class UsedLogin(Base):
    """A login link's nonce once it was used: every link logs in once."""

    __tablename__ = "used_logins"
    nonce_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class OfficerSession(Base):
    """A dashboard session; the browser holds the token, the store only its hash."""

    __tablename__ = "officer_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class OfficerApiKey(Base):
    """An officer's key for ``/api/v1``: shown once, kept as a SHA-256 hash, found by its public prefix;
    ``read`` or ``write``; revoked keys stay listed."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id", ondelete="CASCADE"), index=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(8))
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class DigestSubscription(Base):
    """Someone who gets a digest (an officer, or a person from the chat), daily at a local time or weekly
    on a day. ``next_at`` is when the next one is due (UTC) and ``since`` where its period starts: both
    move in the transaction that stages the digest, so a digest goes out once across restarts."""

    __tablename__ = "digest_subscriptions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id", ondelete="CASCADE"), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    frequency: Mapped[str] = mapped_column(String(8))  # daily | weekly
    weekday: Mapped[int] = mapped_column(Integer, default=0)  # 0 = Monday (weekly)
    hour: Mapped[int] = mapped_column(Integer, default=8)
    minute: Mapped[int] = mapped_column(Integer, default=0)
    when_empty: Mapped[str] = mapped_column(String(8), default="skip")  # skip | line
    by_email: Mapped[bool] = mapped_column(default=True)
    since: Mapped[datetime]
    next_at: Mapped[datetime] = mapped_column(index=True)


class LedgerEntry(Base):
    """One entry of an initiative's append-only ledger: ``body`` is the entry's canonical JSON, kept as
    the exact text that was hashed (``hash`` = SHA-256 of it), so a verifier never has to re-encode it.
    Outcome entries name their outcome's uid (``outcome_uid``) for cross-checking."""

    __tablename__ = "ledger_entries"
    __table_args__ = (UniqueConstraint("initiative_id", "seq"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiatives.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    outcome_uid: Mapped[str | None] = mapped_column(String(64), index=True)
    body: Mapped[str] = mapped_column(Text)


class LedgerHead(Base):
    """An initiative's ledger head: its size and last hash. Every append locks this row (an upsert), so
    two workers appending at once queue up instead of forking the chain. ``signed`` is the size of the
    last checkpoint."""

    __tablename__ = "ledger_heads"
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiatives.id", ondelete="CASCADE"), primary_key=True)
    size: Mapped[int] = mapped_column(Integer, default=0)
    head: Mapped[str] = mapped_column(String(64))
    signed: Mapped[int] = mapped_column(Integer, default=0)


class LedgerCheckpoint(Base):
    """A signed statement "this ledger had ``size`` entries ending in ``head``": ``body`` is the signed
    canonical JSON, ``signature`` its Ed25519 signature (base64) by the key ``key_id``."""

    __tablename__ = "ledger_checkpoints"
    __table_args__ = (UniqueConstraint("initiative_id", "size"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiatives.id", ondelete="CASCADE"))
    size: Mapped[int] = mapped_column(Integer)
    head: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime]
    key_id: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    signature: Mapped[str] = mapped_column(String(100))
