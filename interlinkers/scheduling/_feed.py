"""The initiative's calendar feed: ``/calendar`` gives organisers an unguessable link that calendar apps
subscribe to (``GET /ical/<token>.ics``); ``/calendar new`` replaces it, ``/calendar off`` revokes it.
Only a SHA-256 of the token is stored, so the store alone cannot be used to read a feed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp import web
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.context import Context
from bot.i18n import N_, _
from bot.ical import feed
from bot.interlinker import command
from bot.links import change_link, link_wish, token_hash
from bot.roles import Role
from interlinkers.scheduling._models import Event, Feed
from interlinkers.scheduling._shared import ics
from storage.models import Initiative

KEEP_CANCELLED = timedelta(days=60)  # calendars that polled before the cancellation still learn of it


class CalendarFeed:
    @command("calendar", help=N_("A calendar link for this group's events (organisers)"),
             usage=N_("[new|off]"), role=Role.ORGANISER)
    async def calendar(self, ctx: Context, args: str) -> None:
        wish = link_wish(args)
        token = await change_link(ctx.session, await ctx.session.get(Feed, ctx.initiative.id), wish,
                                  lambda digest: Feed(initiative_id=ctx.initiative.id, token_hash=digest))
        if wish == "off":
            ctx.reply(_("The calendar link of this group no longer works."))
            return
        if token is None:
            ctx.reply(_("This group has a calendar link already; I do not keep it, so I cannot show it again. "
                        "Send /calendar new for a new link (the old one stops working) or /calendar off."))
            return
        url = f"{ctx.services.settings.public_url}/ical/{token}.ics"
        with ctx.for_group():
            ctx.reply(_("Subscribe to this group's events in your calendar app with this link: {url}\nAnyone with "
                        "the link sees the events' titles, times and places. Organisers can replace it with "
                        "/calendar new or stop it with /calendar off.").format(url=url))


def feed_route(sessions: async_sessionmaker[AsyncSession]) -> web.RouteDef:
    async def serve(request: web.Request) -> web.Response:
        token = request.match_info["token"]
        async with sessions() as session:
            found = await session.scalar(select(Feed).where(Feed.token_hash == token_hash(token)))
            if found is None:
                raise web.HTTPNotFound(text="no such calendar\n")
            name = await session.scalar(select(Initiative.name).where(Initiative.id == found.initiative_id))
            events = (await session.scalars(select(Event).where(
                Event.initiative_id == found.initiative_id,
                or_(Event.status == "scheduled", Event.created_at > datetime.now(UTC) - KEEP_CANCELLED))
                .order_by(Event.number))).all()
        body = feed([ics(event) for event in events], name or "")
        return web.Response(body=body, content_type="text/calendar", charset="utf-8",
                            headers={"Cache-Control": "private, max-age=300"})

    return web.get("/ical/{token}.ics", serve)

