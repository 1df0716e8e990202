"""Shifts: ``/shift`` (one, several hour ranges on a day, or a repetition), the live card, ``/shifts``,
``/myshifts``, ``/roster``, and reminders to those signed up (privately where possible)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from babel.dates import format_timedelta
from sqlalchemy import select

from bot.context import Context
from bot.direct import Recipient
from bot.events import File, Location, Reply
from bot.i18n import N_, _, current_locale, format_moment
from bot.interlinker import command, job
from bot.roles import Role
from bot.when import lead_times
from interlinkers.volunteers import _view as view
from interlinkers.volunteers._feed import personal_calendar
from interlinkers.volunteers._models import IN, OFFERED, Shift, Signup
from interlinkers.volunteers._parsing import ShiftDraft, parse_number, parse_shift
from interlinkers.volunteers._shared import (
    DEFAULT_REMINDERS,
    NAME,
    UNDERFILLED_NOTICE,
    card_key,
    chat_of,
    end_job,
    find_shift,
    lock_shift,
    position,
    refresh_job,
    remind_job,
    signups,
    underfilled_job,
)
from storage.models import Initiative

MAX_LISTED = 12
CODE_DIGITS = 6


class Shifts:
    """The shift half of the volunteers Interlinker."""

    @command("shift", help=N_("Plan a volunteer shift: time, places, place, role (organisers; alone: step by step)"),
             usage=N_("<title> | <day> <from>-<to> | <places> [| <place>] [| <role>]"), role=Role.ORGANISER)
    async def shift(self, ctx: Context, args: str) -> None:
        if not args.strip():
            await self.ask_shift(ctx)
            return
        await self.create_shifts(ctx, parse_shift(args, ctx.tz))

    async def ask_shift(self, ctx: Context) -> None:
        raise NotImplementedError  # the dialog (``_dialog.ShiftDialog``)

    async def create_shifts(self, ctx: Context, draft: ShiftDraft) -> list[Shift]:
        created = []
        for start, end in draft.spans:
            shift = Shift(initiative_id=ctx.initiative.id, number=await ctx.next_number("shift"), title=draft.title,
                          role=draft.role, place=draft.place, starts_at=start, ends_at=end,
                          latitude=draft.point.latitude if draft.point else None,
                          longitude=draft.point.longitude if draft.point else None,
                          timezone=ctx.initiative.timezone, capacity=draft.capacity, status="open",
                          code="".join(secrets.choice("0123456789") for _digit in range(CODE_DIGITS)),
                          creator_id=ctx.user_id if ctx.user else None, platform=ctx.chat.platform,
                          chat_id=ctx.chat.chat_id, thread_id=ctx.chat.thread_id)
            ctx.session.add(shift)
            await ctx.session.flush()
            created.append(shift)
            await self.plan_reminder(ctx, shift)
            await ctx.schedule(NAME, "end", shift.ends_at, end_job(shift), shift_id=shift.id)
            if shift.starts_at - UNDERFILLED_NOTICE > datetime.now(UTC):
                await ctx.schedule(NAME, "underfilled", shift.starts_at - UNDERFILLED_NOTICE, underfilled_job(shift),
                                   shift_id=shift.id)
            await ctx.record_outcome("shift_planned", shift.title, self.facts(shift))
        with ctx.for_group():
            if len(created) == 1:
                await self.show(ctx, created[0], new=True)
            else:
                lines = [_("{count} shifts planned:").format(count=len(created))]
                lines += [f"#{shift.number} {view.when_text(shift)}" for shift in created]
                if draft.more:
                    lines.append(_("More would follow: these are the next ones; plan the rest later."))
                lines.append(_("Sign up with /signup <number>; /shifts lists them with their free places."))
                ctx.reply("\n".join(lines))
            if draft.point is not None:
                ctx.send_location(Location(draft.point.latitude, draft.point.longitude, draft.place or draft.title))
        return created

    @command("shifts", help=N_("List the upcoming shifts and their free places"))
    async def list_shifts(self, ctx: Context, args: str) -> None:
        rows = (await ctx.session.scalars(
            select(Shift).where(Shift.initiative_id == ctx.initiative.id, Shift.status == "open",
                                Shift.ends_at > datetime.now(UTC)).order_by(Shift.starts_at).limit(MAX_LISTED))).all()
        if not rows:
            ctx.reply(_("No shifts are planned here. Plan one with /shift."))
            return
        lines = [_("Upcoming shifts:")]
        for shift in rows:
            lines.append(f"#{shift.number} {view.heading(shift).split(': ', 1)[-1]} — {view.when_text(shift, ctx.tz)}"
                         f" · {view.places_text(shift, await signups(ctx, shift))}")
        ctx.reply("\n".join(lines))

    @command("myshifts", help=N_("Your shifts, and your place on waiting lists (calendar: a link for your "
                                 "calendar app)"), usage=N_("[calendar [new|off]]"))
    async def my_shifts(self, ctx: Context, args: str) -> None:
        words = args.strip().casefold().split()
        if words and words[0] in {"calendar", "calendario", "kalendars", _("calendar").casefold()}:
            await personal_calendar(ctx, words[1] if len(words) > 1 else "")
            return
        rows = (await ctx.session.execute(
            select(Shift, Signup, Initiative.name).join(Signup, Signup.shift_id == Shift.id)
            .join(Initiative, Initiative.id == Shift.initiative_id)
            .where(Signup.user_id == ctx.user_id, Shift.status == "open", Shift.ends_at > datetime.now(UTC))
            .order_by(Shift.starts_at).limit(MAX_LISTED))).all()
        if not rows:
            ctx.reply(_("You have no upcoming shifts. Send /shifts to see where help is needed."))
            return
        lines = [_("Your shifts:")]
        for shift, signup, group in rows:
            if signup.state == IN:
                status = _("signed up")
            elif signup.state == OFFERED and signup.offered_until is not None:
                status = _("a place is yours if you confirm by {when}").format(
                    when=format_moment(signup.offered_until, ctx.tz))
            else:
                status = _("number {position} on the waiting list").format(position=await position(ctx, signup))
            lines.append(f"#{shift.number} {shift.title} — {view.when_text(shift, ctx.tz)} ({group}; {status})")
        ctx.reply("\n".join(lines))

    @command("roster", help=N_("Who is on a shift, and who is waiting (organisers: add csv for a file)"),
             usage=N_("<number> [csv]"))
    async def roster(self, ctx: Context, args: str) -> None:
        number, rest = parse_number(args, "roster")
        shift = await find_shift(ctx, number)
        rows = await signups(ctx, shift)
        people = await ctx.names(row.user_id for row in rows)
        if rest.strip().lower() == "csv":
            ctx.authorize(role=Role.ORGANISER)
            ctx.send_file(File(f"shift-{shift.number}-roster.csv", view.roster_csv(shift, rows, people).encode(),
                               "text/csv", _("Roster of shift #{number}.").format(number=shift.number)))
            return
        ctx.reply(view.roster(shift, rows, people, ctx.tz))

    # --- the card, wherever a change came from ---------------------------------------------------------

    async def show(self, ctx: Context, shift: Shift, *, new: bool = False) -> None:
        """Post the card, or bring it up to date. From another chat (a press in a private chat) the update is
        a job in the shift's own chat, so it is edited there."""
        if not new and (ctx.chat.platform, ctx.chat.chat_id) != (shift.platform, shift.chat_id):
            await ctx.schedule(NAME, "refresh", datetime.now(UTC), refresh_job(shift),
                               chat=chat_of(shift), shift_id=shift.id)
            return
        rows = await signups(ctx, shift)
        people = await ctx.names(row.user_id for row in rows)
        with ctx.for_group():
            text, buttons = view.card(ctx, shift, rows, people)
        if new:
            ctx.reply(text, buttons, key=card_key(shift))
        else:
            ctx.edit(card_key(shift), text, buttons)

    @job("refresh")
    async def refresh(self, ctx: Context, shift_id: int) -> None:
        shift = await ctx.session.get(Shift, shift_id)
        if shift is not None:
            await self.show(ctx, shift)

    # --- reminders -----------------------------------------------------------------------------------

    async def plan_reminder(self, ctx: Context, shift: Shift, after: datetime | None = None) -> None:
        """The shift's next reminder: the soonest lead time still ahead (a job: it survives restarts)."""
        now = after or datetime.now(UTC)
        stored = await ctx.setting("shiftreminders", DEFAULT_REMINDERS)
        due = sorted(shift.starts_at - lead for lead in lead_times(stored) if shift.starts_at - lead > now)
        if due and shift.status == "open":
            await ctx.schedule(NAME, "remind", due[0], remind_job(shift), shift_id=shift.id,
                               at=due[0].astimezone(UTC).isoformat())
        else:
            await ctx.unschedule(remind_job(shift))

    @job("remind")
    async def remind(self, ctx: Context, shift_id: int, at: str) -> None:
        """Each volunteer with a place is reminded privately; those the bot cannot write to are named in
        the group. Then the next lead time is planned (after this one, even when it ran late)."""
        shift = await lock_shift(ctx, shift_id)
        if shift is None or shift.status != "open" or shift.starts_at <= datetime.now(UTC):
            return
        rows = [row for row in await signups(ctx, shift) if row.state == IN and row.user_id is not None]
        missed = []
        for row in rows:
            assert row.user_id is not None

            def private(person: Recipient, shift: Shift = shift) -> list[Reply]:
                tz = person.zone(shift.timezone)
                return [Reply(self.reminder_text(shift, tz))]

            if not await ctx.direct(row.user_id, private):
                missed.append(row.user_id)
        if missed:
            people = await ctx.names(missed)
            with ctx.for_group():
                ctx.reply(_("{names}: {reminder}").format(names=", ".join(people[user] for user in missed),
                                                          reminder=self.reminder_text(shift, ctx.tz)))
        await self.plan_reminder(ctx, shift, after=max(datetime.now(UTC), datetime.fromisoformat(at)))

    @staticmethod
    def reminder_text(shift: Shift, tz: Any) -> str:
        left = format_timedelta(shift.starts_at - datetime.now(UTC), threshold=1.5, add_direction=True,
                                locale=current_locale())
        text = _("Reminder: your shift #{number} “{title}” starts {left} ({when}).").format(
            number=shift.number, title=shift.title, left=left, when=view.when_text(shift, tz, inline=True))
        if shift.place:
            text += "\n" + _("Where: {place}").format(place=shift.place)
        return text + "\n" + _("Cannot come? Send /withdraw {number}, so someone waiting gets the place.").format(
            number=shift.number)

    @staticmethod
    def facts(shift: Shift) -> dict[str, Any]:
        return {"number": shift.number, "starts_at": shift.starts_at.astimezone(UTC).isoformat(),
                "ends_at": shift.ends_at.astimezone(UTC).isoformat(), "timezone": shift.timezone,
                "capacity": shift.capacity, "place": shift.place, "role": shift.role}

