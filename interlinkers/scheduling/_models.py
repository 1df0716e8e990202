"""The scheduling Interlinker's tables: date polls (``Meet``, its ``Slot``s and people's ``Answer``s),
events with their RSVPs, and each initiative's calendar feed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, utcnow


class Meet(Base):
    """"When do we meet?": slots members answer yes / if need be / no; confirmed into an ``Event``."""

    __tablename__ = "sched_meets"
    __table_args__ = (UniqueConstraint("initiative_id", "number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiatives.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    duration_minutes: Mapped[int] = mapped_column(Integer)
    creator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    platform: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str] = mapped_column(String(255))
    thread_id: Mapped[str | None] = mapped_column(String(255))
    closes_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, confirmed, closed
    event_id: Mapped[int | None] = mapped_column(ForeignKey("sched_events.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Slot(Base):
    __tablename__ = "sched_slots"
    meet_id: Mapped[int] = mapped_column(ForeignKey("sched_meets.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    starts_at: Mapped[datetime]


class Answer(Base):
    """One person's answer to one slot: 1 yes, 2 if need be, 3 no (no row: not answered)."""

    __tablename__ = "sched_answers"
    meet_id: Mapped[int] = mapped_column(ForeignKey("sched_meets.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    answer: Mapped[int] = mapped_column(Integer)


class Event(Base):
    """A confirmed event, one-off or recurring (``rule``: ``bot.recurrence.encode``), in ``timezone``'s wall
    time. ``sequence`` goes up on every change (iCalendar's SEQUENCE), so calendars replace the old one."""

    __tablename__ = "sched_events"
    __table_args__ = (UniqueConstraint("initiative_id", "number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiatives.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    uid: Mapped[str] = mapped_column(String(128), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    place: Mapped[str | None] = mapped_column(String(200))
    latitude: Mapped[float | None] = mapped_column(Float)  # the place's point, when shared or typed
    longitude: Mapped[float | None] = mapped_column(Float)
    starts_at: Mapped[datetime]  # the first occurrence
    duration_minutes: Mapped[int] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(String(64))
    rule: Mapped[str | None] = mapped_column(String(255))
    capacity: Mapped[int | None] = mapped_column(Integer)
    reminders: Mapped[str | None] = mapped_column(String(64))  # lead times ("1d 1h"); None: the group's setting
    status: Mapped[str] = mapped_column(String(16), default="scheduled")  # scheduled, cancelled
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    creator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    platform: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str] = mapped_column(String(255))
    thread_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Rsvp(Base):
    """Going (1), maybe (2) or not going (3), for the whole series of a recurring event."""

    __tablename__ = "sched_rsvps"
    event_id: Mapped[int] = mapped_column(ForeignKey("sched_events.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    answer: Mapped[int] = mapped_column(Integer)
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)


class Feed(Base):
    """An initiative's calendar subscription: only a hash of its token is kept (the link is shown once)."""

    __tablename__ = "sched_feeds"
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiatives.id", ondelete="CASCADE"), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
