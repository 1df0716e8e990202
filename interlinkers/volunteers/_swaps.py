"""Filling gaps: a volunteer offers their place to someone else (``/swap``), an organiser calls the group
for help (``/needhelp``), and organisers are warned a day ahead when a shift is short of people."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select

from bot.context import Context
from bot.errors import UserError
from bot.events import Reply
from bot.i18n import N_, _
from bot.interlinker import button, command, job
from bot.roles import Role
from interlinkers.volunteers import _view as view
from interlinkers.volunteers._attendance import Attendance
from interlinkers.volunteers._models import IN, Shift, Signup
from interlinkers.volunteers._parsing import parse_number
from interlinkers.volunteers._shared import NAME, find_shift, lock_shift, started, taken
from storage.models import Membership


class Swaps(Attendance):
    """Swaps, calls for help and the under-filled warning."""

    @command("swap", help=N_("Offer your place on a shift to someone else"), usage=N_("<number>"))
    async def swap(self, ctx: Context, args: str) -> None:
        number, _rest = parse_number(args, "swap")
        shift = await find_shift(ctx, number, lock=True)
        mine = await self._signup(ctx, shift, ctx.user_id)
        if mine is None or mine.state != IN:
            raise UserError(_("You have no place on shift #{number} to offer.").format(number=shift.number))
        self._check_open(shift)
        mine.swap_offered = True
        with ctx.for_group():
            ctx.reply(_("{name} offers their place on shift #{number} “{title}” ({when}). Who takes it over? Press "
                        "the button.").format(name=ctx.user_ref.display_name if ctx.user_ref else "?",
                                              number=shift.number, title=shift.title,
                                              when=view.when_text(shift, inline=True)),
                      (ctx.button(_("Take it over"), NAME, "t", mine.id),))

    @button("t")
    async def take_over(self, ctx: Context, signup_id: str) -> None:
        offered = await ctx.session.get(Signup, int(signup_id))
        shift = await lock_shift(ctx, offered.shift_id) if offered is not None else None
        if offered is None or shift is None or shift.initiative_id != ctx.initiative.id:
            raise UserError(_("This button is not valid any more. Send /help to start again."))
        await ctx.session.refresh(offered)
        if not offered.swap_offered or offered.state != IN or offered.user_id is None:
            raise UserError(_("This place has been taken over already, or is no longer offered."))
        if offered.user_id == ctx.user_id:
            raise UserError(_("This is your own place."))
        self._check_open(shift)
        mine = await self._signup(ctx, shift, ctx.user_id)
        if mine is not None and mine.state == IN:
            raise UserError(_("You already have a place on shift #{number}.").format(number=shift.number))
        if mine is not None:  # waiting or offered elsewhere in the line: this place replaces that
            await ctx.session.execute(delete(Signup).where(Signup.id == mine.id))
        giver = offered.user_id
        giver_name = (await ctx.names([giver])).get(giver, "?")
        offered.user_id, offered.swap_offered, offered.took_over_from = ctx.user_id, False, giver_name
        offered.queued_at = datetime.now(UTC)
        await ctx.session.flush()
        taker = ctx.user_ref.display_name if ctx.user_ref else "?"
        await ctx.direct(giver, lambda _person: [Reply(_("{name} took over your place on shift #{number} “{title}”."
                                                        " Thank you for finding someone!").format(
            name=taker, number=shift.number, title=shift.title))])
        ctx.notice(_("The place on shift #{number} is yours, taken over from {name}. Thank you!").format(
            number=shift.number, name=giver_name))
        await self.show(ctx, shift)

    @command("needhelp", help=N_("Call the group to fill a shift (organisers)"), usage=N_("<number>"),
             role=Role.ORGANISER)
    async def need_help(self, ctx: Context, args: str) -> None:
        number, _rest = parse_number(args, "needhelp")
        shift = await find_shift(ctx, number)
        self._check_open(shift)
        free = shift.capacity - await taken(ctx, shift)
        if free <= 0:
            raise UserError(_("Shift #{number} is full already.").format(number=shift.number))
        with ctx.for_group():
            ctx.reply(self._call_text(shift, free), (ctx.button(_("Sign up"), NAME, "s", shift.id),))

    @job("underfilled")
    async def underfilled(self, ctx: Context, shift_id: int) -> None:
        """A day ahead, a shift short of people: its organisers hear it privately (or in the group)."""
        shift = await lock_shift(ctx, shift_id)
        if shift is None or shift.status != "open" or started(shift):
            return
        free = shift.capacity - await taken(ctx, shift)
        if free <= 0:
            return
        organisers = set((await ctx.session.scalars(select(Membership.user_id).where(
            Membership.initiative_id == shift.initiative_id, Membership.role >= Role.ORGANISER))).all())
        if shift.creator_id is not None:
            organisers.add(shift.creator_id)

        def warning(_person: object) -> list[Reply]:
            return [Reply(_("Shift #{number} “{title}” ({when}) still has {free} of {capacity} places free. Send "
                            "/needhelp {number} in the group to call for help.").format(
                number=shift.number, title=shift.title, when=view.when_text(shift, inline=True), free=free,
                capacity=shift.capacity))]

        reached = [await ctx.direct(user_id, warning) for user_id in sorted(organisers)]
        if not any(reached):
            with ctx.for_group():
                ctx.reply(self._call_text(shift, free), (ctx.button(_("Sign up"), NAME, "s", shift.id),))

    @staticmethod
    def _call_text(shift: Shift, free: int) -> str:
        return _("Help wanted: shift #{number} “{title}” ({when}) needs {free} more. Can you come? Press Sign up or "
                 "send /signup {number}.").format(number=shift.number, title=shift.title,
                                                   when=view.when_text(shift, inline=True), free=free)
