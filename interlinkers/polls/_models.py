"""The polls Interlinker's tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, utcnow


class Poll(Base):
    __tablename__ = "polls"
    __table_args__ = (UniqueConstraint("initiative_id", "number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiatives.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    question: Mapped[str] = mapped_column(Text)
    creator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    platform: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str] = mapped_column(String(255))
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closes_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # What kind of poll (``_kinds.Kind``) and its rules, fixed when it is created.
    kind: Mapped[str] = mapped_column(String(16), default="single", server_default="single")
    choice_limit: Mapped[int | None]  # multiple: at most k options; dots: dots per voter
    hidden: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # counts only at close
    quorum: Mapped[int | None]  # at least this many voters...
    quorum_percent: Mapped[int | None]  # ...or this share of the initiative's members
    open_options: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # members add
    # Set at closing: the organiser's words and how the poll ended (``_render.OUTCOMES``).
    statement: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(16))

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class PollOption(Base):
    """An option and its running count of current ballots (see ``_store``: kept by every vote, checked
    against the ballots when the poll closes)."""

    __tablename__ = "poll_options"
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(String(100))
    votes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Ballot(Base):
    """Every vote cast, kept as history: a changed vote supersedes the earlier one.

    ``voter_key`` identifies the voter only to enforce one current vote: ``u:<user id>`` for named
    polls, a keyed hash for anonymous ones, whose ballots hold no user id at all.
    """

    __tablename__ = "poll_ballots"
    __table_args__ = (
        Index(
            "uq_poll_ballots_current",
            "poll_id",
            "voter_key",
            unique=True,
            sqlite_where=text("superseded_at IS NULL"),
            postgresql_where=text("superseded_at IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    voter_key: Mapped[str] = mapped_column(String(64))
    voter_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    cast_at: Mapped[datetime] = mapped_column(default=utcnow)
    superseded_at: Mapped[datetime | None]
    choice: Mapped[str | None] = mapped_column(Text)  # kinds with several figures per ballot (``_kinds``)
    reason: Mapped[str | None] = mapped_column(Text)  # a proposal's optional reason
    # A random id, the ballot's only name in exports; its voter can look it up with /myballot.
    receipt: Mapped[str | None] = mapped_column(String(16))
