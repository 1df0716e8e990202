"""Signing up, fairly: places are never exceeded (the shift's row is locked while its sign-ups change), the
waiting line is first come, first served, and a freed place is offered to the first in line, privately
where possible, for a limited time before it passes to the next. Organisers can add or remove someone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select

from bot.context import Context
from bot.direct import Recipient
from bot.errors import UserError
from bot.events import Reply
from bot.i18n import N_, _, format_moment
from bot.interlinker import button, command, job
from bot.roles import Role
from interlinkers.volunteers import _view as view
from interlinkers.volunteers._models import IN, OFFERED, WAITING, Shift, Signup
from interlinkers.volunteers._parsing import parse_number
from interlinkers.volunteers._shared import (
    DEFAULT_CONFIRM_HOURS,
    NAME,
    SOONEST_OFFER,
    end_job,
    find_shift,
    lock_shift,
    offer_job,
    position,
    remind_job,
    started,
    taken,
    underfilled_job,
)
from interlinkers.volunteers._shifts import Shifts


class Signups(Shifts):
    """Sign-ups and the waiting line (commands, buttons on the card and in private offers, the offer's
    time limit as a job)."""

    @command("signup", help=N_("Sign up for a shift (or join its waiting list)"), usage=N_("<number>"))
    async def signup_typed(self, ctx: Context, args: str) -> None:
        number, _rest = parse_number(args, "signup")
        shift = await find_shift(ctx, number, lock=True)
        ctx.reply(await self.sign_up(ctx, shift, ctx.user_id))

    @command("withdraw", help=N_("Give up your place on a shift, or leave its waiting list"), usage=N_("<number>"))
    async def withdraw_typed(self, ctx: Context, args: str) -> None:
        number, _rest = parse_number(args, "withdraw")
        shift = await find_shift(ctx, number, lock=True)
        ctx.reply(await self.withdraw(ctx, shift, ctx.user_id))

    @button("s")
    async def signup_button(self, ctx: Context, shift_id: str) -> None:
        ctx.notice(await self.sign_up(ctx, await self._pressed(ctx, shift_id), ctx.user_id))

    @button("w")
    async def withdraw_button(self, ctx: Context, shift_id: str) -> None:
        ctx.notice(await self.withdraw(ctx, await self._pressed(ctx, shift_id), ctx.user_id))

    @command("addvolunteer", help=N_("Give a member a place on a shift (organisers)"), usage=N_("<number> <name>"),
             role=Role.ORGANISER)
    async def add_volunteer(self, ctx: Context, args: str) -> None:
        number, rest = parse_number(args, "addvolunteer")
        user_id, name = await ctx.member_named(rest, "/addvolunteer 1 ann")
        shift = await find_shift(ctx, number, lock=True)
        current = await self._signup(ctx, shift, user_id)
        if current is not None and current.state == IN:
            raise UserError(_("{name} already has a place on shift #{number}.").format(name=name, number=shift.number))
        if current is None and await taken(ctx, shift) >= shift.capacity:
            raise UserError(_("Shift #{number} is full ({capacity} places). Remove someone first, or plan another "
                              "shift.").format(number=shift.number, capacity=shift.capacity))
        self._check_open(shift)
        if current is None:
            ctx.session.add(Signup(shift_id=shift.id, user_id=user_id, state=IN))
        else:  # waiting or offered: the organiser settles it
            await ctx.unschedule(offer_job(current))
            current.state, current.offered_until = IN, None
        await ctx.session.flush()
        await ctx.direct(user_id, lambda _person: [Reply(_("An organiser gave you a place on shift #{number} “{title}”"
                                                             ": {when}.").format(number=shift.number, title=shift.title,
                                                                                 when=view.when_text(shift)))])
        with ctx.for_group():
            ctx.reply(_("{name} has a place on shift #{number}.").format(name=name, number=shift.number))
        await self.show(ctx, shift)

    @command("removevolunteer", help=N_("Take someone off a shift (organisers); the next in line is offered the "
                                        "place"), usage=N_("<number> <name>"), role=Role.ORGANISER)
    async def remove_volunteer(self, ctx: Context, args: str) -> None:
        number, rest = parse_number(args, "removevolunteer")
        user_id, name = await ctx.member_named(rest, "/removevolunteer 1 ann")
        shift = await find_shift(ctx, number, lock=True)
        if await self._signup(ctx, shift, user_id) is None:
            raise UserError(_("{name} is not on shift #{number}.").format(name=name, number=shift.number))
        await self._leave(ctx, shift, user_id)
        await ctx.direct(user_id, lambda _person: [Reply(_("An organiser took you off shift #{number} “{title}”.")
                                                         .format(number=shift.number, title=shift.title))])
        with ctx.for_group():
            ctx.reply(_("{name} is no longer on shift #{number}.").format(name=name, number=shift.number))

    @command("cancelshift", help=N_("Cancel a shift (organisers); everyone on it is told"), usage=N_("<number>"),
             role=Role.ORGANISER)
    async def cancel_shift(self, ctx: Context, args: str) -> None:
        number, _rest = parse_number(args, "cancelshift")
        shift = await find_shift(ctx, number, lock=True)
        self._check_open(shift)
        shift.status = "cancelled"
        rows = (await ctx.session.scalars(select(Signup).where(Signup.shift_id == shift.id))).all()
        for key in (remind_job(shift), end_job(shift), underfilled_job(shift), *(offer_job(row) for row in rows)):
            await ctx.unschedule(key)
        missed = []
        for row in rows:
            if row.user_id is not None and not await ctx.direct(row.user_id, lambda _person: [Reply(_(
                    "Shift #{number} “{title}” ({when}) is cancelled. Thank you for being ready to help!").format(
                    number=shift.number, title=shift.title, when=view.when_text(shift, inline=True)))]):
                missed.append(row.user_id)
        await ctx.session.execute(delete(Signup).where(Signup.shift_id == shift.id))
        await ctx.session.flush()
        await ctx.record_outcome("shift_cancelled", shift.title, {**self.facts(shift), "signed_up": len(rows)})
        with ctx.for_group():
            ctx.reply(_("Shift #{number} “{title}” is cancelled.").format(number=shift.number, title=shift.title))
            if missed:  # those the bot cannot write to are told here
                people = await ctx.names(missed)
                ctx.reply(_("{names}: you were on shift #{number}, which is cancelled.").format(
                    names=", ".join(people.get(user_id, "?") for user_id in missed), number=shift.number))
        await self.show(ctx, shift)

    # --- the offer of a freed place ------------------------------------------------------------------

    @button("c")
    async def confirm_offer(self, ctx: Context, signup_id: str) -> None:
        signup, shift = await self._offer(ctx, signup_id)
        if signup.state == IN:
            ctx.notice(_("The place on shift #{number} is already yours.").format(number=shift.number))
            return
        ctx.notice(await self.sign_up(ctx, shift, ctx.user_id))

    @button("g")
    async def decline_offer(self, ctx: Context, signup_id: str) -> None:
        _signup, shift = await self._offer(ctx, signup_id)
        ctx.notice(await self.withdraw(ctx, shift, ctx.user_id))

    @job("offer")
    async def offer_lapsed(self, ctx: Context, signup_id: int) -> None:
        """The time to confirm is over: the place passes to the next in line."""
        signup = await ctx.session.get(Signup, signup_id)
        if signup is None or signup.state != OFFERED:
            return
        shift = await lock_shift(ctx, signup.shift_id)
        if shift is None:
            return
        await ctx.session.refresh(signup)
        if signup.state != OFFERED or signup.user_id is None:
            return
        user_id = signup.user_id
        await self._leave(ctx, shift, user_id)
        await ctx.direct(user_id, lambda _person: [Reply(_(
            "You did not confirm in time, so the place on shift #{number} “{title}” went to the next person in "
            "line. You can sign up again with /signup {number}.").format(number=shift.number, title=shift.title))])

    # --- internals -----------------------------------------------------------------------------------

    async def sign_up(self, ctx: Context, shift: Shift, user_id: int) -> str:
        """Take a free place, confirm an offered one, or join the line; what to tell the person."""
        current = await self._signup(ctx, shift, user_id)
        if current is not None and current.state == IN:
            return _("You already have a place on shift #{number}.").format(number=shift.number)
        if current is not None and current.state == WAITING:
            return _("You are already number {position} on the waiting list of shift #{number}.").format(
                position=await position(ctx, current), number=shift.number)
        self._check_open(shift)
        if current is not None:  # offered: confirming takes it
            await ctx.unschedule(offer_job(current))
            current.state, current.offered_until = IN, None
            said = _("The place on shift #{number} is yours. Thank you!").format(number=shift.number)
        elif await taken(ctx, shift) < shift.capacity and not await self._anyone_waiting(ctx, shift):
            ctx.session.add(Signup(shift_id=shift.id, user_id=user_id, state=IN))
            said = _("You are signed up for shift #{number} “{title}”: {when}. Thank you!").format(
                number=shift.number, title=shift.title, when=view.when_text(shift))
        else:  # full, or a free place that belongs to those already waiting (offered to them first)
            await self._offer_free_places(ctx, shift)
            current = Signup(shift_id=shift.id, user_id=user_id, state=WAITING)
            ctx.session.add(current)
            await ctx.session.flush()
            said = _("Shift #{number} is full: you are number {position} on its waiting list. If a place frees up, "
                     "I will tell you.").format(number=shift.number, position=await position(ctx, current))
        await ctx.session.flush()
        await self.show(ctx, shift)
        return said

    async def withdraw(self, ctx: Context, shift: Shift, user_id: int) -> str:
        current = await self._signup(ctx, shift, user_id)
        if current is None:
            raise UserError(_("You are not on shift #{number}.").format(number=shift.number))
        if started(shift):
            raise UserError(_("Shift #{number} has started: tell an organiser if you cannot stay.").format(
                number=shift.number))
        waiting = current.state == WAITING
        await self._leave(ctx, shift, user_id)
        said = (_("You left the waiting list of shift #{number}.") if waiting
                else _("You gave up your place on shift #{number}. Thank you for saying so!"))
        return said.format(number=shift.number)

    async def _leave(self, ctx: Context, shift: Shift, user_id: int) -> None:
        """Take the person off (with any offer's time limit), offer what is freed, update the card."""
        current = await self._signup(ctx, shift, user_id)
        if current is not None:
            await ctx.unschedule(offer_job(current))
        await ctx.session.execute(delete(Signup).where(Signup.shift_id == shift.id, Signup.user_id == user_id))
        await ctx.session.flush()
        await self._offer_free_places(ctx, shift)
        await self.show(ctx, shift)

    async def _offer_free_places(self, ctx: Context, shift: Shift) -> None:
        """Each free place goes to the next in line: offered for ``confirmhours`` (never past the start),
        or simply given when the shift is about to begin."""
        if shift.status != "open" or started(shift):
            return
        free = shift.capacity - await taken(ctx, shift)
        if free <= 0:
            return
        line = (await ctx.session.scalars(select(Signup).where(Signup.shift_id == shift.id, Signup.state == WAITING)
                                          .order_by(Signup.queued_at, Signup.id).limit(free))).all()
        hours = int(await ctx.setting("confirmhours", DEFAULT_CONFIRM_HOURS))
        now = datetime.now(UTC)
        for signup in line:
            if signup.user_id is None:
                continue
            until = min(now + timedelta(hours=hours), shift.starts_at)
            if until - now < SOONEST_OFFER:
                signup.state = IN
                await ctx.direct(signup.user_id, lambda _person: [Reply(_(
                    "A place freed up on shift #{number} “{title}”, which starts soon: it is yours. Cannot come? "
                    "Send /withdraw {number}.").format(number=shift.number, title=shift.title))])
                continue
            signup.state, signup.offered_until = OFFERED, until
            await ctx.session.flush()
            await ctx.schedule(NAME, "offer", until, offer_job(signup), signup_id=signup.id)
            await self._tell_offer(ctx, shift, signup, until)

    async def _tell_offer(self, ctx: Context, shift: Shift, signup: Signup, until: datetime) -> None:
        assert signup.user_id is not None
        buttons = (ctx.button(_("Take the place"), NAME, "c", signup.id),
                   ctx.button(_("Give it up"), NAME, "g", signup.id))

        def offer(person: Recipient) -> list[Reply]:
            zone = person.zone(shift.timezone)
            return [Reply(_("A place is free on shift #{number} “{title}” ({when}), and you are first in line. It "
                            "is yours if you confirm by {until}; after that it goes to the next person.").format(
                number=shift.number, title=shift.title, when=view.when_text(shift, zone, inline=True),
                until=format_moment(until, zone)), buttons)]

        if not await ctx.direct(signup.user_id, offer):
            people = await ctx.names([signup.user_id])
            with ctx.for_group():
                ctx.reply(_("{name}: a place is free on shift #{number}, and you are first in line. It is yours if "
                            "you confirm by {until} (press “Take the place” or send /signup {number}).").format(
                    name=people.get(signup.user_id, "?"), number=shift.number,
                    until=format_moment(until, ctx.tz)), buttons)

    async def _anyone_waiting(self, ctx: Context, shift: Shift) -> bool:
        return await ctx.session.scalar(select(Signup.id).where(Signup.shift_id == shift.id,
                                                                Signup.state == WAITING).limit(1)) is not None

    async def _signup(self, ctx: Context, shift: Shift, user_id: int) -> Signup | None:
        return await ctx.session.scalar(select(Signup).where(Signup.shift_id == shift.id, Signup.user_id == user_id))

    async def _pressed(self, ctx: Context, shift_id: str) -> Shift:
        shift = await lock_shift(ctx, int(shift_id))
        if shift is None or shift.initiative_id != ctx.initiative.id:
            raise UserError(_("This button is not valid any more. Send /help to start again."))
        return shift

    async def _offer(self, ctx: Context, signup_id: str) -> tuple[Signup, Shift]:
        """The offer behind a pressed button: it must be this person's and still standing."""
        signup = await ctx.session.get(Signup, int(signup_id))
        if signup is None or signup.user_id != ctx.user_id:
            raise UserError(_("This offer is not yours, or it has passed to the next person in line."))
        shift = await lock_shift(ctx, signup.shift_id)
        if shift is None:
            raise UserError(_("This button is not valid any more. Send /help to start again."))
        return signup, shift

    @staticmethod
    def _check_open(shift: Shift) -> None:
        if shift.status != "open":
            raise UserError(_("Shift #{number} is cancelled.").format(number=shift.number))
        if started(shift):
            raise UserError(_("Shift #{number} has already started.").format(number=shift.number))
