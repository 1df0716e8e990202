"""The reports Interlinker's tables: a citizen's report (category, description, place, status), its
photos (served through an unguessable link), who follows it, and every status change with its note."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, utcnow


class Report(Base):
    """A service request. ``status`` uses FixMyStreet's words; Open311 sees them as open or closed."""

    __tablename__ = "rep_reports"
    __table_args__ = (UniqueConstraint("initiative_id", "number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiatives.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    service_code: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(32), default="submitted")
    status_note: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    platform: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Forwarded to the municipality's own Open311 endpoint: its id (or, until it gives one, its token) and
    # the last status it showed ("open|notes"), so only its changes are passed on.
    remote_id: Mapped[str | None] = mapped_column(String(128))
    remote_token: Mapped[str | None] = mapped_column(String(128))
    remote_state: Mapped[str | None] = mapped_column(Text)


class ReportPhoto(Base):
    """A photo as kept: re-encoded without metadata (``bot.photos``); ``token`` makes its public link."""

    __tablename__ = "rep_photos"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("rep_reports.id", ondelete="CASCADE"), index=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class Follower(Base):
    """Someone told of a report's changes: its author, or who said "it is the same one" instead of filing."""

    __tablename__ = "rep_followers"
    report_id: Mapped[int] = mapped_column(ForeignKey("rep_reports.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)


class StatusChange(Base):
    """Every status a report went through, with the note the PA or organiser gave (its history)."""

    __tablename__ = "rep_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("rep_reports.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    """A key a municipal system files reports with (Open311 ``api_key``): only its SHA-256 is kept."""

    __tablename__ = "rep_api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiatives.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
