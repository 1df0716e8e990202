"""A volunteer's own calendar of shifts: ``/myshifts calendar`` (in a private chat) gives an unguessable
link calendar apps subscribe to (``GET /ical/shifts/<token>.ics``); ``new`` replaces it, ``off`` stops it.
It holds the shifts they have a place on, in every group, and nobody else's names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.context import Context
from bot.errors import UserError
from bot.i18n import _
from bot.ical import IcsEvent, feed
from bot.links import change_link, link_wish, token_hash
from interlinkers.volunteers._models import IN, OFFERED, Shift, ShiftFeed, Signup
from interlinkers.volunteers._shared import length

KEEP_PAST = timedelta(days=60)


async def personal_calendar(ctx: Context, word: str) -> None:
    """``/myshifts calendar [new|off]``: the link is personal, so it is given only in a private chat."""
    if not ctx.chat.is_private:
        raise UserError(_("Your calendar link is personal: ask for it in a private chat with me."))
    wish = link_wish(word)
    token = await change_link(ctx.session, await ctx.session.get(ShiftFeed, ctx.user_id), wish,
                              lambda digest: ShiftFeed(user_id=ctx.user_id, token_hash=digest))
    if wish == "off":
        ctx.reply(_("Your shifts calendar link no longer works."))
        return
    if token is None:
        ctx.reply(_("You have a shifts calendar link already; I do not keep it, so I cannot show it again. Send "
                    "/myshifts calendar new for a new link (the old one stops working), or /myshifts calendar off."))
        return
    ctx.reply(_("Subscribe to your shifts in your calendar app with this link: {url}\nKeep it to yourself: anyone "
                "with it sees your shifts.").format(url=f"{ctx.services.settings.public_url}/ical/shifts/{token}.ics"))


def shifts_feed_route(sessions: async_sessionmaker[AsyncSession]) -> web.RouteDef:
    async def serve(request: web.Request) -> web.Response:
        async with sessions() as session:
            found = await session.scalar(select(ShiftFeed).where(
                ShiftFeed.token_hash == token_hash(request.match_info["token"])))
            if found is None:
                raise web.HTTPNotFound(text="no such calendar\n")
            shifts = (await session.scalars(
                select(Shift).join(Signup, Signup.shift_id == Shift.id)
                .where(Signup.user_id == found.user_id, Signup.state.in_((IN, OFFERED)),
                       Shift.ends_at > datetime.now(UTC) - KEEP_PAST).order_by(Shift.starts_at))).all()
        events = [IcsEvent(uid=f"shift-{shift.id}@interlink", sequence=0, title=shift.title, start=shift.starts_at,
                           duration=length(shift), tz=shift.timezone, place=shift.place,
                           geo=(shift.latitude, shift.longitude) if shift.latitude is not None
                           and shift.longitude is not None else None,
                           description=shift.role, cancelled=shift.status == "cancelled")
                  for shift in shifts]
        return web.Response(body=feed(events, "Shifts"), content_type="text/calendar", charset="utf-8",
                            headers={"Cache-Control": "private, max-age=300"})

    return web.get("/ical/shifts/{token}.ics", serve)
