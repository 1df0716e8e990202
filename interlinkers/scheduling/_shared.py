"""What the scheduling modules share: names, keys, look-ups, and an event's next occurrences."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot import recurrence
from bot.context import Context
from bot.i18n import _
from bot.ical import IcsEvent
from interlinkers.scheduling._models import Event, Meet, Rsvp
from interlinkers.scheduling._parsing import GOING, MAYBE, NOT_GOING

NAME = "scheduling"
DEFAULT_REMINDERS = "1d 1h"


def meet_key(meet: Meet) -> str:
    return f"{NAME}:meet:{meet.id}"


def event_key(event: Event) -> str:
    return f"{NAME}:event:{event.id}"


def remind_job(event: Event) -> str:
    return f"{NAME}:remind:{event.id}"


def held_job(event: Event) -> str:
    return f"{NAME}:held:{event.id}"


def close_job(meet: Meet) -> str:
    return f"{NAME}:close:{meet.id}"


async def find_meet(ctx: Context, number: int) -> Meet:
    return await ctx.numbered(Meet, number, _("There is no date poll #{number} here. Send /events to see what is "
                                              "planned."))


async def find_event(ctx: Context, number: int) -> Event:
    return await ctx.numbered(Event, number, _("There is no event #{number} here. Send /events to see them."))


def zone(event: Event) -> ZoneInfo:
    return ZoneInfo(event.timezone)


def rule_of(event: Event) -> recurrence.Rule | None:
    return recurrence.decode(event.rule)


def first_start(event: Event) -> datetime:
    return event.starts_at.astimezone(zone(event))


def upcoming(event: Event, after: datetime | None = None, limit: int = 1) -> list[datetime]:
    """The event's next starts (local, aware) after ``after`` (default now); none once it is over."""
    if event.status != "scheduled":
        return []
    return recurrence.occurrences(first_start(event), rule_of(event), zone(event),
                                  after or datetime.now(UTC), limit)


def duration(event: Event) -> timedelta:
    return timedelta(minutes=event.duration_minutes)


def ics(event: Event) -> IcsEvent:
    return IcsEvent(uid=event.uid, sequence=event.sequence, title=event.title, start=first_start(event),
                    duration=duration(event), tz=event.timezone, place=event.place, geo=point_of(event),
                    rule=rule_of(event), cancelled=event.status == "cancelled")


def point_of(event: Event) -> tuple[float, float] | None:
    if event.latitude is None or event.longitude is None:
        return None
    return (event.latitude, event.longitude)


async def answers(ctx: Context, event: Event) -> dict[int, list[int]]:
    """RSVP answer → the user ids who gave it."""
    rows = (await ctx.session.execute(select(Rsvp.answer, Rsvp.user_id).where(Rsvp.event_id == event.id)
                                      .order_by(Rsvp.answered_at))).all()
    found: dict[int, list[int]] = {GOING: [], MAYBE: [], NOT_GOING: []}
    for answer, user_id in rows:
        found.setdefault(answer, []).append(user_id)
    return found


async def going_count(ctx: Context, event: Event) -> int:
    return int(await ctx.session.scalar(select(func.count()).select_from(Rsvp).where(
        Rsvp.event_id == event.id, Rsvp.answer == GOING)) or 0)
