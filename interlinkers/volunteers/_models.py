"""The volunteers Interlinker's tables: shifts (places, time, place, role, check-in code) and sign-ups, whose
``state`` says where each person stands: signed up, offered a freed place, or waiting in line."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, utcnow

IN, OFFERED, WAITING = "in", "offered", "waiting"


class Shift(Base):
    """A time slot volunteers sign up for, with a number of places that is never exceeded."""

    __tablename__ = "vol_shifts"
    __table_args__ = (UniqueConstraint("initiative_id", "number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiatives.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(100))
    place: Mapped[str | None] = mapped_column(String(200))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    timezone: Mapped[str] = mapped_column(String(64))
    capacity: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, cancelled, done
    code: Mapped[str] = mapped_column(String(16))  # the check-in code the organiser shows on the day
    creator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    platform: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str] = mapped_column(String(255))
    thread_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Signup(Base):
    """One person on one shift: ``in`` (has a place), ``offered`` (a freed place is theirs if they confirm
    before ``offered_until``) or ``waiting`` (in line, by ``queued_at``). After the shift: checked in or not,
    and the minutes served. ``user_id`` becomes NULL when the person asks to be forgotten: the hours stay
    counted, anonymously."""

    __tablename__ = "vol_signups"
    __table_args__ = (UniqueConstraint("shift_id", "user_id"), Index("ix_vol_signups_queue", "shift_id", "state"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("vol_shifts.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    state: Mapped[str] = mapped_column(String(16))
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    offered_until: Mapped[datetime | None]
    swap_offered: Mapped[bool] = mapped_column(default=False)  # the volunteer offers their place to another
    took_over_from: Mapped[str | None] = mapped_column(String(255))  # a swap: whose place this was (a name)
    checked_in_at: Mapped[datetime | None]
    attended: Mapped[bool | None]  # after the shift: came (checked in or confirmed) or a no-show
    minutes: Mapped[int | None] = mapped_column(Integer)  # minutes served, once the shift is over


class ShiftFeed(Base):
    """One person's calendar of their shifts: only a hash of its token is kept (the link is shown once)."""

    __tablename__ = "vol_feeds"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
