"""What the volunteers modules share: names, keys, look-ups and the counts a shift is judged by."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.context import Context
from bot.events import ChatRef
from bot.i18n import _
from interlinkers.volunteers._models import IN, OFFERED, WAITING, Shift, Signup

NAME = "volunteers"
DEFAULT_REMINDERS = "1d 2h"
DEFAULT_CONFIRM_HOURS = "12"
SOONEST_OFFER = timedelta(minutes=10)  # a freed place closer to the start than this is simply given
UNDERFILLED_NOTICE = timedelta(hours=24)  # organisers hear this long before a shift that is short of people


def card_key(shift: Shift) -> str:
    return f"{NAME}:shift:{shift.id}"


def remind_job(shift: Shift) -> str:
    return f"{NAME}:remind:{shift.id}"


def refresh_job(shift: Shift) -> str:
    return f"{NAME}:refresh:{shift.id}"


def end_job(shift: Shift) -> str:
    return f"{NAME}:end:{shift.id}"


def underfilled_job(shift: Shift) -> str:
    return f"{NAME}:underfilled:{shift.id}"


def offer_job(signup: Signup) -> str:
    return f"{NAME}:offer:{signup.id}"


def zone(shift: Shift) -> ZoneInfo:
    return ZoneInfo(shift.timezone)


def length(shift: Shift) -> timedelta:
    return shift.ends_at - shift.starts_at


def chat_of(shift: Shift) -> ChatRef:
    return ChatRef(shift.platform, shift.chat_id, shift.thread_id)


def started(shift: Shift) -> bool:
    return shift.starts_at <= datetime.now(UTC)


async def find_shift(ctx: Context, number: int, *, lock: bool = False) -> Shift:
    """Shift ``number`` of this initiative; ``lock`` holds its row until the transaction ends (PostgreSQL:
    two workers changing its sign-ups at once take turns, so places are counted right)."""
    return await ctx.numbered(Shift, number, _("There is no shift #{number} here. Send /shifts to see them."),
                              lock=lock)


async def lock_shift(ctx: Context, shift_id: int) -> Shift | None:
    return await ctx.session.scalar(select(Shift).where(Shift.id == shift_id).with_for_update()
                                    .execution_options(populate_existing=True))


async def signups(ctx: Context, shift: Shift) -> list[Signup]:
    """Everyone on the shift: those with a place first, then the waiting line in its order."""
    rows = (await ctx.session.scalars(select(Signup).where(Signup.shift_id == shift.id)
                                      .order_by(Signup.queued_at, Signup.id))).all()
    rank = {IN: 0, OFFERED: 1, WAITING: 2}
    return sorted(rows, key=lambda row: rank[row.state])


async def taken(ctx: Context, shift: Shift) -> int:
    """Places taken: signed up, or offered and not yet confirmed (held for the person offered)."""
    return int(await ctx.session.scalar(select(func.count()).select_from(Signup).where(
        Signup.shift_id == shift.id, Signup.state.in_((IN, OFFERED)))) or 0)


async def position(ctx: Context, signup: Signup) -> int:
    """1-based place in the waiting line."""
    ahead = await ctx.session.scalar(select(func.count()).select_from(Signup).where(
        Signup.shift_id == signup.shift_id, Signup.state == WAITING,
        (Signup.queued_at < signup.queued_at)
        | ((Signup.queued_at == signup.queued_at) & (Signup.id < signup.id))))
    return int(ahead or 0) + 1
