"""On the day: a per-shift check-in code the organiser receives privately (with a QR code of the link that
checks in on networks with deep links), check-in by typing the code or following the link, attendance an
organiser confirms, and at the end no-shows marked and the minutes served counted; then what the PA gets:
per shift, and per initiative per month."""

from __future__ import annotations

import hmac
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import segno
from sqlalchemy import select

from bot.context import Context
from bot.direct import Recipient
from bot.errors import UserError
from bot.events import File, Outgoing, Reply
from bot.i18n import N_, _, format_clock, format_number, ngettext
from bot.interlinker import command, job
from bot.roles import Role
from interlinkers.volunteers import _view as view
from interlinkers.volunteers._models import IN, Shift, Signup
from interlinkers.volunteers._parsing import parse_number
from interlinkers.volunteers._shared import NAME, end_job, find_shift, length, lock_shift, signups
from interlinkers.volunteers._signups import Signups

CHECK_IN_EARLY = timedelta(hours=1)  # check-in opens this long before the start, and closes at the end


def month_job(initiative_id: int) -> str:
    return f"{NAME}:month:{initiative_id}"


def first_of_next_month(moment: datetime) -> datetime:
    return (moment.replace(day=1) + timedelta(days=32)).replace(day=1, hour=0, minute=5, second=0, microsecond=0)


class Attendance(Signups):
    """Check-in, attendance, the end of a shift and the monthly figures."""

    @command("checkincode", help=N_("Get a shift's check-in code, privately (organisers)"), usage=N_("<number>"),
             role=Role.ORGANISER)
    async def check_in_code(self, ctx: Context, args: str) -> None:
        number, _rest = parse_number(args, "checkincode")
        shift = await find_shift(ctx, number)
        link = ctx.link_button(_("Check in"), f"{NAME}-c{shift.id}_{shift.code}")

        def code(person: Recipient) -> list[Outgoing]:
            text = _("Check-in code for shift #{number} “{title}” ({when}): {code}\nShow it to the volunteers on the "
                     "day: each sends /checkin {code} (from an hour before the start until the end).").format(
                number=shift.number, title=shift.title, code=shift.code,
                when=view.when_text(shift, person.zone(shift.timezone), inline=True))
            said: list[Outgoing] = [Reply(text)]
            if link is not None and link.url:  # a QR code of the link that checks in, to scan from a phone
                image = io.BytesIO()
                segno.make(link.url, error="m").save(image, kind="png", scale=8, border=2)
                said.append(File(f"shift-{shift.number}-check-in.png", image.getvalue(), "image/png",
                                 _("Scan to check in for shift #{number}.").format(number=shift.number)))
            return said

        if await ctx.direct(ctx.user_id, code, hold=True):
            if not ctx.chat.is_private:
                ctx.reply(_("I sent you the check-in code privately."))
        else:
            opener = ctx.link_button(_("Open a private chat"), "")
            ctx.reply(_("I will send you the check-in code privately as soon as you open a private chat with me "
                        "(it must not be shown to the whole group)."), (opener,) if opener else ())

    @command("checkin", help=N_("Check in at your shift with the code the organiser shows"), usage=N_("<code>"))
    async def check_in_typed(self, ctx: Context, args: str) -> None:
        ctx.reply(await self.check_in(ctx, args.strip().split(" ")[-1]))

    async def on_start(self, ctx: Context, payload: str) -> None:
        """A scanned check-in link: ``c<shift id>_<code>``."""
        shift_id, _sep, code = payload.removeprefix("c").partition("_")
        ctx.reply(await self.check_in(ctx, code, shift_id=int(shift_id) if shift_id.isdigit() else 0))

    async def check_in(self, ctx: Context, code: str, shift_id: int | None = None) -> str:
        """The code of one of the person's shifts open for check-in now (wherever they write from);
        compared in constant time."""
        now = datetime.now(UTC)
        query = (select(Shift, Signup).join(Signup, Signup.shift_id == Shift.id)
                 .where(Signup.user_id == ctx.user_id, Signup.state == IN, Shift.status == "open",
                        Shift.starts_at <= now + CHECK_IN_EARLY, Shift.ends_at > now))
        if shift_id is not None:
            query = query.where(Shift.id == shift_id)
        for shift, signup in (await ctx.session.execute(query)).all():
            if hmac.compare_digest(shift.code.encode(), code.strip().encode()):
                if signup.checked_in_at is None:
                    signup.checked_in_at = now
                await self.show(ctx, shift)
                return _("Checked in for shift #{number} “{title}” at {time}. Thank you for coming!").format(
                    number=shift.number, title=shift.title, time=format_clock(signup.checked_in_at, ctx.tz))
        raise UserError(_("No shift of yours is open for check-in with that code. Check-in opens an hour before "
                          "the start; ask the organiser for the code."))

    @command("attended", help=N_("Confirm who came to a shift (organisers): a name, or all"),
             usage=N_("<number> <name>|all"), role=Role.ORGANISER)
    async def attended(self, ctx: Context, args: str) -> None:
        number, rest = parse_number(args, "attended")
        shift = await find_shift(ctx, number, lock=True)
        rows = [row for row in await signups(ctx, shift) if row.state == IN]
        if rest.strip().casefold() in {"all", _("all").casefold()}:
            chosen = rows
        else:
            user_id, name = await ctx.member_named(rest, "/attended 1 ann")
            chosen = [row for row in rows if row.user_id == user_id]
            if not chosen:
                raise UserError(_("{name} is not on shift #{number}.").format(name=name, number=shift.number))
        for row in chosen:
            row.attended = True
            if shift.status == "done":  # after the end: counted now, and the PA is told the correction
                row.minutes = max(row.minutes or 0, self._minutes(shift, row))
        await ctx.session.flush()
        if shift.status == "done":
            await ctx.record_outcome("shift_corrected", shift.title, await self._figures(ctx, shift))
        ctx.reply(ngettext("{count} volunteer confirmed as present at shift #{number}.",
                           "{count} volunteers confirmed as present at shift #{number}.", len(chosen)).format(
            count=format_number(len(chosen)), number=shift.number))

    # --- the end of a shift, and the month ------------------------------------------------------------

    @command("endshift", help=N_("End a shift now, if it finished early (organisers): no-shows and hours are "
                                 "counted"), usage=N_("<number>"), role=Role.ORGANISER)
    async def end_shift(self, ctx: Context, args: str) -> None:
        number, _rest = parse_number(args, "endshift")
        shift = await find_shift(ctx, number, lock=True)
        if shift.status != "open":
            raise UserError(_("Shift #{number} is over or cancelled.").format(number=shift.number))
        now = datetime.now(UTC).replace(microsecond=0)
        if shift.starts_at > now:
            raise UserError(_("Shift #{number} has not started yet: to call it off, send /cancelshift {number}.")
                            .format(number=shift.number))
        shift.ends_at = min(shift.ends_at, now)
        await ctx.unschedule(end_job(shift))
        await self._close(ctx, shift)
        with ctx.for_group():
            ctx.reply(_("Shift #{number} is over. Thank you, everyone!").format(number=shift.number))

    @job("end")
    async def end(self, ctx: Context, shift_id: int) -> None:
        shift = await lock_shift(ctx, shift_id)
        if shift is not None and shift.status == "open":
            await self._close(ctx, shift)

    async def _close(self, ctx: Context, shift: Shift) -> None:
        """No-shows marked (signed up, neither checked in nor confirmed), minutes served counted: from check-in
        (or the start, if earlier) to the end, or the whole shift when an organiser confirmed attendance."""
        for row in await signups(ctx, shift):
            if row.state != IN:
                continue
            came = row.checked_in_at is not None or bool(row.attended)
            row.attended, row.minutes = came, self._minutes(shift, row) if came else 0
        shift.status = "done"
        await ctx.session.flush()
        await ctx.record_outcome("shift_done", shift.title, await self._figures(ctx, shift))
        await self.show(ctx, shift)
        await ctx.schedule(NAME, "month", first_of_next_month(shift.ends_at.astimezone(ctx.tz)),
                           month_job(shift.initiative_id), initiative_id=shift.initiative_id)

    @job("month")
    async def month(self, ctx: Context, initiative_id: int) -> None:
        """Last month's volunteering for the PA: volunteers, hours, fill rate and no-show rate."""
        end = datetime.now(UTC).astimezone(ctx.tz).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        start = (end - timedelta(days=1)).replace(day=1)
        shifts = (await ctx.session.scalars(select(Shift).where(
            Shift.initiative_id == initiative_id, Shift.status == "done", Shift.starts_at >= start,
            Shift.starts_at < end))).all()
        if not shifts:
            return
        rows = (await ctx.session.scalars(select(Signup).where(Signup.shift_id.in_([s.id for s in shifts]),
                                                               Signup.state == IN))).all()
        places = sum(shift.capacity for shift in shifts)
        came = [row for row in rows if row.attended]
        await ctx.record_outcome("volunteering_month", f"{start:%Y-%m}", {
            "month": f"{start:%Y-%m}", "shifts": len(shifts),
            "volunteers": len({row.user_id for row in came if row.user_id is not None})
            + sum(1 for row in came if row.user_id is None),
            "hours": round(sum(row.minutes or 0 for row in rows) / 60, 2),
            "fill_rate": round(len(rows) / places, 3) if places else None,
            "no_show_rate": round(sum(1 for row in rows if row.attended is False) / len(rows), 3) if rows else None})

    @staticmethod
    def _minutes(shift: Shift, row: Signup) -> int:
        """From check-in (or the start, if earlier) to the end; the whole shift when an organiser confirmed
        someone who did not check in."""
        if row.checked_in_at is None:
            return int(length(shift).total_seconds() // 60)
        begun = max(row.checked_in_at, shift.starts_at)
        return max(0, round((shift.ends_at - begun).total_seconds() / 60))

    async def _figures(self, ctx: Context, shift: Shift) -> dict[str, Any]:
        rows = [row for row in await signups(ctx, shift) if row.state == IN]
        return {**self.facts(shift), "filled": len(rows),
                "attended": sum(1 for row in rows if row.attended),
                "no_shows": sum(1 for row in rows if row.attended is False),
                "hours": round(sum(row.minutes or 0 for row in rows) / 60, 2)}
