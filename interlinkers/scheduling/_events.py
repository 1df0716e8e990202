"""Events: created by ``/event`` or a confirmed date poll; RSVP (with an optional capacity), the .ics
invite in the chat, reminders in the group and privately to those going, rescheduling and cancelling
(which tell those who answered), and the outcomes the PA receives."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from babel.dates import format_timedelta
from sqlalchemy import select

from bot import ical as ics_files
from bot import recurrence
from bot.context import Context
from bot.direct import Recipient
from bot.errors import UserError
from bot.events import File, Location, Reply
from bot.geo import Point
from bot.i18n import N_, _, current_locale, format_moment
from bot.interlinker import button, command, job
from bot.roles import Role
from bot.when import lead_times
from interlinkers.scheduling import _view as view
from interlinkers.scheduling._models import Event, Rsvp
from interlinkers.scheduling._parsing import (
    GOING,
    MAYBE,
    EventDraft,
    parse_event,
    parse_number,
    parse_reschedule,
    rsvp_answer,
)
from interlinkers.scheduling._shared import (
    DEFAULT_REMINDERS,
    NAME,
    answers,
    duration,
    event_key,
    find_event,
    first_start,
    going_count,
    held_job,
    ics,
    point_of,
    remind_job,
    upcoming,
    zone,
)
from storage.models import Initiative

MAX_LISTED = 10


class Events:
    """The event half of the scheduling Interlinker."""

    @command("event", help=N_("Plan an event, one-off or recurring (alone: I ask step by step)"),
             usage=N_("<title> | <when> [| <length>] [| <place>] [| capacity N]"))
    async def event(self, ctx: Context, args: str) -> None:
        if not args.strip():
            await self.ask_event(ctx)
            return
        await self.plan_event(ctx, parse_event(args, ctx.tz))

    async def ask_event(self, ctx: Context) -> None:
        raise NotImplementedError  # the dialog (``_dialogs.Dialogs``)

    async def plan_event(self, ctx: Context, draft: EventDraft) -> None:
        await self.create_event(ctx, title=draft.title, start=draft.start, rule=draft.rule,
                                minutes=int(draft.duration.total_seconds() // 60), place=draft.place,
                                point=draft.point, capacity=draft.capacity, reminders=draft.reminders,
                                creator_id=ctx.user_id, origin="event")

    async def create_event(self, ctx: Context, *, title: str, start: datetime, rule: recurrence.Rule | None,
                           minutes: int, place: str | None, capacity: int | None, reminders: str | None,
                           creator_id: int | None, origin: str, point: Point | None = None) -> Event:
        """Store, show with RSVP buttons, send the invite (and the place's pin), plan reminders, and tell
        the PA."""
        event = Event(initiative_id=ctx.initiative.id, number=await ctx.next_number("event"),
                      uid=f"{uuid.uuid4()}@interlink", title=title, place=place, starts_at=start.astimezone(UTC),
                      latitude=point.latitude if point else None, longitude=point.longitude if point else None,
                      duration_minutes=minutes, timezone=ctx.initiative.timezone, rule=recurrence.encode(rule),
                      capacity=capacity, reminders=reminders, status="scheduled", sequence=0,
                      creator_id=creator_id, platform=ctx.chat.platform, chat_id=ctx.chat.chat_id,
                      thread_id=ctx.chat.thread_id)
        ctx.session.add(event)
        await ctx.session.flush()
        await self._show(ctx, event, new=True)
        with ctx.for_group():
            ctx.send_file(self._invite(event))
            if point is not None:
                ctx.send_location(Location(point.latitude, point.longitude, place or title))
        await self._plan(ctx, event)
        await ctx.record_outcome("event_confirmed", title, {**self._facts(event), "origin": origin, "going": 0})
        return event

    @button("r")
    async def rsvp_button(self, ctx: Context, event_id: str, answer: str) -> None:
        event = await ctx.session.get(Event, int(event_id))
        if event is None or event.initiative_id != ctx.initiative.id:
            raise UserError(_("This button is not valid any more. Send /help to start again."))
        await self._answer(ctx, event, int(answer), press=True)

    @command("rsvp", help=N_("Say whether you come to an event"), usage=N_("<number> going|maybe|no"))
    async def rsvp_typed(self, ctx: Context, args: str) -> None:
        number, rest = parse_number(args, "rsvp")
        event = await find_event(ctx, number)
        await self._answer(ctx, event, rsvp_answer(rest), press=False)

    @command("events", help=N_("List the upcoming events of this group"))
    async def list_events(self, ctx: Context, args: str) -> None:
        rows = (await ctx.session.scalars(select(Event).where(Event.initiative_id == ctx.initiative.id,
                                                              Event.status == "scheduled"))).all()
        planned = sorted(((following, event) for event in rows if (following := upcoming(event))),
                         key=lambda item: item[0][0])[:MAX_LISTED]
        if not planned:
            ctx.reply(_("No events are planned here. Plan one with /event or find a date with /meet."))
            return
        lines = [_("Upcoming events:")]
        for _next, event in planned:
            lines.append(await self._line(ctx, event))
        ctx.reply("\n".join(lines))

    @command("myevents", help=N_("The events you said you go to"))
    async def my_events(self, ctx: Context, args: str) -> None:
        rows = (await ctx.session.execute(
            select(Event, Rsvp.answer, Initiative.name).join(Rsvp, Rsvp.event_id == Event.id)
            .join(Initiative, Initiative.id == Event.initiative_id)
            .where(Rsvp.user_id == ctx.user_id, Rsvp.answer.in_((GOING, MAYBE)), Event.status == "scheduled")
        )).all()
        planned = sorted(((following, event, answer, group) for event, answer, group in rows
                          if (following := upcoming(event))), key=lambda item: item[0][0])[:MAX_LISTED]
        if not planned:
            ctx.reply(_("You have said you go to no upcoming event."))
            return
        lines = [_("Your upcoming events:")]
        for _next, event, answer, group in planned:
            lines.append(_("{line} ({group}; you: {answer})").format(
                line=await self._line(ctx, event), group=group, answer=view.rsvp_name(answer)))
        ctx.reply("\n".join(lines))

    @command("reschedule", help=N_("Move an event (organisers); those who answered are told"),
             usage=N_("<number> <when> [| <length>]"))
    async def reschedule(self, ctx: Context, args: str) -> None:
        number, start, rule, length = parse_reschedule(args, ctx.tz)
        event = await self._changeable(ctx, number)
        event.starts_at, event.rule = start.astimezone(UTC), recurrence.encode(rule)
        if length is not None:
            event.duration_minutes = int(length.total_seconds() // 60)
        event.sequence += 1
        await ctx.session.flush()
        await self._show(ctx, event)
        with ctx.for_group():
            ctx.reply(_("Event #{number} “{title}” is moved: {when}.").format(
                number=event.number, title=event.title, when=view.when_text(event)))
            ctx.send_file(self._invite(event))
        await self._tell_answered(ctx, event, lambda: _("Event “{title}” is moved: {when}.").format(
            title=event.title, when=view.when_text(event)))
        await self._plan(ctx, event)
        await ctx.record_outcome("event_rescheduled", event.title, {**self._facts(event),
                                                                     "going": await going_count(ctx, event)})

    @command("cancelevent", help=N_("Cancel an event (organisers); those who answered are told"),
             usage=N_("<number>"))
    async def cancel_event(self, ctx: Context, args: str) -> None:
        number, _rest = parse_number(args, "cancelevent")
        event = await self._changeable(ctx, number)
        event.status = "cancelled"
        event.sequence += 1
        await ctx.session.flush()
        await ctx.unschedule(remind_job(event))
        await ctx.unschedule(held_job(event))
        await self._show(ctx, event)
        with ctx.for_group():
            ctx.reply(_("Event #{number} “{title}” is cancelled.").format(number=event.number, title=event.title))
            ctx.send_file(self._invite(event))
        await self._tell_answered(ctx, event, lambda: _("Event “{title}” ({when}) is cancelled.").format(
            title=event.title, when=format_moment(first_start(event), zone(event))))
        await ctx.record_outcome("event_cancelled", event.title, {**self._facts(event),
                                                                   "going": await going_count(ctx, event)})

    # --- jobs --------------------------------------------------------------------------------------

    @job("remind")
    async def remind(self, ctx: Context, event_id: int, sequence: int, starts: str, at: str = "") -> None:
        """One reminder of one occurrence: in the group, and privately to those going (unless they
        opted out); then the next one is planned. Each (occurrence, lead time) fires once."""
        event = await ctx.session.get(Event, event_id)
        if event is None or event.status != "scheduled" or event.sequence != sequence:
            return
        begins = datetime.fromisoformat(starts)
        if begins <= datetime.now(UTC):  # ran late (the bot was down) past the start: too late to remind
            await self._plan(ctx, event, after=datetime.now(UTC))
            return
        going = (await answers(ctx, event))[GOING]
        left = format_timedelta(begins - datetime.now(UTC), threshold=1.5, add_direction=True,
                                locale=current_locale())
        lines = [_("Reminder: {title} starts {left} ({when}).").format(
            title=event.title, left=left, when=format_moment(begins, ctx.tz))]
        if event.place:
            lines.append(_("Where: {place}").format(place=event.place))
        lines.append(_("Going: {count}. Not answered yet? Press a button on event #{number} or send "
                       "/rsvp {number} going.").format(count=len(going), number=event.number))
        ctx.reply("\n".join(lines))
        for user_id in going:
            if await ctx.personal_setting(user_id, "privatereminders", "on") != "on":
                continue

            def private(person: Recipient) -> list[Reply]:
                tz = person.zone(event.timezone)
                text = _("Reminder: {title} starts {left} ({when}).").format(
                    title=event.title, when=f"{format_moment(begins, tz)} ({tz.key})",
                    left=format_timedelta(begins - datetime.now(UTC), threshold=1.5, add_direction=True,
                                          locale=current_locale()))
                return [Reply(text + (("\n" + _("Where: {place}").format(place=event.place)) if event.place else ""))]

            await ctx.direct(user_id, private)
        # The next one comes after this one's time, even when this one ran late (after a restart).
        await self._plan(ctx, event, after=max(datetime.now(UTC), datetime.fromisoformat(at)) if at else None)

    @job("held")
    async def held(self, ctx: Context, event_id: int, sequence: int, starts: str) -> None:
        """After an occurrence: the PA learns it took place and how many had said they would come."""
        event = await ctx.session.get(Event, event_id)
        if event is None or event.status != "scheduled" or event.sequence != sequence:
            return
        said = await answers(ctx, event)
        await ctx.record_outcome("event_held", event.title, {
            **self._facts(event), "occurrence": starts, "going": len(said[GOING]), "maybe": len(said[MAYBE])})
        await self._plan(ctx, event, reminders=False, after=datetime.fromisoformat(starts) + duration(event))

    # --- internals ---------------------------------------------------------------------------------

    async def _answer(self, ctx: Context, event: Event, answer: int, *, press: bool) -> None:
        if event.status != "scheduled" or not upcoming(event):
            raise UserError(_("Event #{number} is over or cancelled.").format(number=event.number))
        current = await ctx.session.get(Rsvp, (event.id, ctx.user_id))
        if answer == GOING and (current is None or current.answer != GOING) and event.capacity is not None:
            if await going_count(ctx, event) >= event.capacity:
                raise UserError(_("Sorry, event #{number} is full ({count} going). You can say maybe, and an "
                                  "organiser can add places.").format(number=event.number, count=event.capacity))
        if current is None:
            ctx.session.add(Rsvp(event_id=event.id, user_id=ctx.user_id, answer=answer))
        else:
            current.answer, current.answered_at = answer, datetime.now(UTC)
        await ctx.session.flush()
        said = _("Event #{number} “{title}”: your answer is {answer}.").format(
            number=event.number, title=event.title, answer=view.rsvp_name(answer))
        if press:
            ctx.notice(said)
        else:
            ctx.reply(said)
        await self._show(ctx, event)

    async def _changeable(self, ctx: Context, number: int) -> Event:
        event = await find_event(ctx, number)
        ctx.authorize(owner_id=event.creator_id, role=Role.ORGANISER)
        if event.status != "scheduled":
            raise UserError(_("Event #{number} is cancelled.").format(number=event.number))
        return event

    async def _show(self, ctx: Context, event: Event, new: bool = False) -> None:
        said = await answers(ctx, event)
        people = await ctx.names(said[GOING])
        with ctx.for_group():
            text, buttons = view.event_view(ctx, event, said, people)
        if new:
            ctx.reply(text, buttons, key=event_key(event))
        else:
            ctx.edit(event_key(event), text, buttons)

    async def _line(self, ctx: Context, event: Event) -> str:
        line = f"#{event.number} {event.title} — {view.when_text(event, ctx.tz)}"
        if event.place:
            line += f" · {event.place}"
        return line + " · " + _("going {count}").format(count=await going_count(ctx, event))

    @staticmethod
    def _invite(event: Event) -> File:
        method = "CANCEL" if event.status == "cancelled" else "REQUEST"
        caption = (_("“{title}” is cancelled: open the file to remove it from your calendar.") if method == "CANCEL"
                   else _("Add “{title}” to your calendar: open the file.")).format(title=event.title)
        return File(f"event-{event.number}.ics", ics_files.invite(ics(event), method), "text/calendar", caption)

    async def _tell_answered(self, ctx: Context, event: Event, text: Callable[[], str]) -> None:
        """Those who said going or maybe hear of a change privately where they can; the others are named
        in the group, so nobody who planned to come misses it."""
        said = await answers(ctx, event)
        missed: list[int] = []
        for user_id in [*said[GOING], *said[MAYBE]]:
            if not await ctx.direct(user_id, lambda _person: [Reply(text())]):
                missed.append(user_id)
        if missed:
            people = await ctx.names(missed)
            with ctx.for_group():
                ctx.reply(_("{names}: you had answered event #{number}; please check the new details.").format(
                    names=", ".join(people[user_id] for user_id in missed), number=event.number))

    async def _plan(self, ctx: Context, event: Event, *, reminders: bool = True,
                    after: datetime | None = None) -> None:
        """The event's next reminder (the soonest lead time after ``after``, default now, over its next
        occurrences) and the job that reports its next occurrence as held. Written as jobs: they survive
        restarts, and each (occurrence, lead time) is one run."""
        now = after or datetime.now(UTC)
        starts = upcoming(event, now - duration(event), limit=3)
        following = [when for when in starts if when + duration(event) > now]
        if following:
            end = following[0] + duration(event)
            await ctx.schedule(NAME, "held", end, held_job(event), event_id=event.id, sequence=event.sequence,
                               starts=following[0].astimezone(UTC).isoformat())
        if not reminders:
            return
        stored = event.reminders if event.reminders is not None else await ctx.setting("eventreminders",
                                                                                        DEFAULT_REMINDERS)
        due = sorted((when - lead, when) for when in following for lead in lead_times(stored) if when - lead > now)
        if due:
            run_at, when = due[0]
            await ctx.schedule(NAME, "remind", run_at, remind_job(event), event_id=event.id,
                               sequence=event.sequence, starts=when.astimezone(UTC).isoformat(),
                               at=run_at.astimezone(UTC).isoformat())
        else:
            await ctx.unschedule(remind_job(event))

    @staticmethod
    def _facts(event: Event) -> dict[str, Any]:
        return {"number": event.number, "starts_at": event.starts_at.astimezone(UTC).isoformat(),
                "timezone": event.timezone, "duration_minutes": event.duration_minutes, "place": event.place,
                "point": point_of(event),
                "recurrence": event.rule, "capacity": event.capacity, "uid": event.uid}

