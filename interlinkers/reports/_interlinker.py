"""Citizen reports: ``/report`` turns a photo and a place into a service request (``_dialog``); organisers
or the PA move it through its statuses and everyone following it hears of each change in their own
language; ``/myreports``, ``/reports``; each photo is served through an unguessable link."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import textwrap
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.context import Context
from bot.errors import UserError
from bot.events import Reply
from bot.i18n import N_, _, format_number, ngettext
from bot.interlinker import Catalogue, Described, Interlinker, command, job
from bot.links import new_token
from bot.panels import Export, Filter, Panel, Scope
from bot.roles import Role
from bot.services import Services
from interlinkers.reports import _dashboard as dashboard
from interlinkers.reports import _export as export
from interlinkers.reports import _open311 as open311
from interlinkers.reports._dialog import ReportDialog
from interlinkers.reports._forward import Endpoint, poll_endpoint, read_forwarding
from interlinkers.reports._models import Follower, Report, ReportPhoto, StatusChange
from interlinkers.reports._moderation import Moderation, moderation_chat
from interlinkers.reports._shared import (
    CLOSED,
    NAME,
    apply_status,
    facts,
    find_report,
    followers,
    parse_number,
    read_status,
    service_name,
    status_name,
)
from storage.deliveries import Destination
from storage.models import Initiative

log = logging.getLogger(__name__)
FORWARD = "open311"  # the destination: the municipality's own Open311 endpoint

MAX_LISTED = 15


class Reports(Moderation, ReportDialog, Interlinker):
    name = NAME
    catalogue = Catalogue(
        title=N_("Citizen reports"),
        description=N_("Report a problem in the street with a photo and a place; follow its status until it is "
                       "fixed."),
        problem_profiles=("ORG_PROBLEM_3",),
        targets=("citizens", "public_administrations"),
    )
    migrations = Path(__file__).parent / "migrations"
    cli = (*open311.COMMANDS, *export.COMMANDS)

    def __init__(self, services: Services) -> None:
        super().__init__(services)
        self.forwarding = read_forwarding(services.settings.source)
        self.endpoint = Endpoint(self.forwarding) if self.forwarding is not None else None
        self._poller: asyncio.Task[None] | None = None

    @command("report", help=N_("Report a problem in the street (step by step: what, where, a photo)"))
    async def report(self, ctx: Context, args: str) -> None:
        await self.start_report(ctx)

    async def file_report(self, ctx: Context, data: dict[str, Any]) -> Report:
        initiative_id = int(data.get("initiative") or ctx.initiative.id)
        number = await ctx.next_number("report", initiative_id=initiative_id)
        report = Report(initiative_id=initiative_id, number=number,
                        service_code=data["service"], description=data["description"], latitude=data.get("lat"),
                        longitude=data.get("lon"), address=data.get("address"), status="submitted",
                        user_id=ctx.user_id, platform=ctx.chat.platform, chat_id=ctx.chat.chat_id)
        ctx.session.add(report)
        await ctx.session.flush()
        tokens = [new_token() for _photo in data.get("photos", [])]
        for token, photo in zip(tokens, data.get("photos", []), strict=True):
            ctx.session.add(ReportPhoto(report_id=report.id, token=token, content=base64.b64decode(photo)))
        ctx.session.add(Follower(report_id=report.id, user_id=ctx.user_id))
        ctx.session.add(StatusChange(report_id=report.id, status="submitted"))
        await ctx.record_outcome("report_submitted", service_name(report.service_code), facts(report, len(tokens)),
                                 initiative_id=initiative_id)
        if (moderators := await moderation_chat(ctx.session, initiative_id)) is not None:
            await ctx.schedule(NAME, "moderate", datetime.now(UTC), f"{NAME}:moderate:{report.id}", chat=moderators,
                               report_id=report.id)
        if self.forwarding is not None:
            await ctx.deliver(NAME, FORWARD, f"{NAME}:forward:{report.id}", {
                "report_id": report.id, "service_code": report.service_code, "description": report.description,
                "lat": report.latitude, "long": report.longitude, "address": report.address,
                "media_url": f"{self.services.settings.public_url}/reports/photos/{tokens[0]}.jpg" if tokens else None})
        await ctx.schedule(NAME, "month", _first_of_next_month(datetime.now(UTC)), f"{NAME}:month:{initiative_id}",
                           initiative_id=initiative_id)
        return report

    @job("month")
    async def month(self, ctx: Context, initiative_id: int) -> None:
        """Last month's reports for the PA: how many by category and by status now, and the median hours
        to acknowledge (the first change after "submitted") and to fix."""
        end = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        start = (end - timedelta(days=1)).replace(day=1)
        reports = (await ctx.session.scalars(select(Report).where(
            Report.initiative_id == initiative_id, Report.created_at >= start, Report.created_at < end))).all()
        if not reports:
            return
        changes = (await ctx.session.execute(select(StatusChange.report_id, StatusChange.status, StatusChange.at)
                                             .where(StatusChange.report_id.in_([r.id for r in reports]))
                                             .order_by(StatusChange.at))).all()
        created = {report.id: report.created_at for report in reports}
        acknowledged: dict[int, float] = {}
        fixed: dict[int, float] = {}
        for report_id, status, at in changes:
            hours = (at - created[report_id]).total_seconds() / 3600
            if status != "submitted":
                acknowledged.setdefault(report_id, hours)
            if status == "fixed":
                fixed.setdefault(report_id, hours)
        await ctx.record_outcome("reports_month", f"{start:%Y-%m}", {
            "month": f"{start:%Y-%m}", "reports": len(reports),
            "by_category": dict(Counter(report.service_code for report in reports)),
            "by_status": dict(Counter(report.status for report in reports)),
            "median_hours_to_acknowledge": round(median(acknowledged.values()), 1) if acknowledged else None,
            "median_hours_to_fix": round(median(fixed.values()), 1) if fixed else None,
            "fixed": len(fixed)}, initiative_id=initiative_id)

    @command("myreports", help=N_("The reports you made or follow, and their status"))
    async def my_reports(self, ctx: Context, args: str) -> None:
        rows = (await ctx.session.execute(
            select(Report, Initiative.name).join(Follower, Follower.report_id == Report.id)
            .join(Initiative, Initiative.id == Report.initiative_id)
            .where(Follower.user_id == ctx.user_id).order_by(Report.updated_at.desc()).limit(MAX_LISTED))).all()
        if not rows:
            ctx.reply(_("You have made or followed no reports. Send /report to make one."))
            return
        lines = [_("Your reports:")]
        lines += [f"#{report.number} {service_name(report.service_code)} — {status_name(report.status)} ({group})"
                  for report, group in rows]
        ctx.reply("\n".join(lines))

    @command("reports", help=N_("The open reports of this group (organisers)"), role=Role.ORGANISER)
    async def list_reports(self, ctx: Context, args: str) -> None:
        rows = (await ctx.session.scalars(select(Report).where(
            Report.initiative_id == ctx.initiative.id, Report.status.not_in(CLOSED))
            .order_by(Report.number).limit(MAX_LISTED))).all()
        if not rows:
            ctx.reply(_("No reports are open here."))
            return
        lines = [_("Open reports:")]
        for report in rows:
            where = report.address or (f"{report.latitude:.5f}, {report.longitude:.5f}"
                                       if report.latitude is not None and report.longitude is not None else "")
            lines.append(f"#{report.number} {service_name(report.service_code)} — {status_name(report.status)} · "
                         f"{where} · {textwrap.shorten(report.description, 60, placeholder='…')}")
        ctx.reply("\n".join(lines))

    @command("status", help=N_("Change a report's status (organisers); its followers are told"),
             usage=N_("<number> <status> [| note]"), role=Role.ORGANISER)
    async def set_status(self, ctx: Context, args: str) -> None:
        number, rest = parse_number(args, "status")
        word, _sep, note = rest.partition("|")
        report = await find_report(ctx, number)
        await self.change_status(ctx, report, read_status(word), note.strip() or None)
        with ctx.for_group():
            ctx.reply(_("Report #{number} is now: {status}.").format(number=report.number,
                                                                    status=status_name(report.status)))

    @command("stillbroken", help=N_("Say a report marked fixed is still broken: it is reopened"),
             usage=N_("<number> [note]"))
    async def still_broken(self, ctx: Context, args: str) -> None:
        number, note = parse_number(args, "stillbroken")
        report = await find_report(ctx, number)
        if report.status not in {"fixed", "closed"}:
            raise UserError(_("Report #{number} is not marked fixed ({status}).").format(
                number=report.number, status=status_name(report.status)))
        if await ctx.session.get(Follower, (report.id, ctx.user_id)) is None:
            ctx.session.add(Follower(report_id=report.id, user_id=ctx.user_id))
        await self.change_status(ctx, report, "reopened", note or None)
        ctx.reply(_("Thank you: report #{number} is reopened, and the municipality is told.").format(
            number=report.number))

    async def change_status(self, ctx: Context, report: Report, status: str, note: str | None) -> None:
        """Record the change (and its note) in the history and for the PA, and tell every follower but the
        one who made it, in their language, privately where possible."""
        await apply_status(ctx.session, report, status, note)
        await self.tell(ctx, report.id, status, note, but=ctx.user_id)

    @job("tell")
    async def tell(self, ctx: Context, report_id: int, status: str, note: str | None, but: int | None = None
                   ) -> None:
        """A report's followers hear of a change: at once for a change made in a chat, and through this job
        for one made outside (``tell_later``)."""
        report = await ctx.session.get(Report, report_id)
        if report is None:
            return

        def news(_person: object) -> list[Reply]:
            text = _("Report #{number} ({service}) is now: {status}.").format(
                number=report.number, service=service_name(report.service_code), status=status_name(status))
            if note:
                text += "\n" + _("Note: {note}").format(note=note)
            if status == "fixed":
                text += "\n" + _("Still broken? Send /stillbroken {number}.").format(number=report.number)
            return [Reply(text)]

        for user_id in await followers(ctx.session, report):
            if user_id != but:
                await ctx.direct(user_id, news, hold=True)

    def destinations(self) -> dict[str, Destination]:
        if self.endpoint is None:
            return {}
        return {FORWARD: Destination(self.endpoint.file, self._forwarded, timeout=30.0)}

    @staticmethod
    async def _forwarded(session: AsyncSession, payload: dict[str, Any], result: dict[str, Any]) -> None:
        report = await session.get(Report, payload["report_id"])
        if report is not None:
            report.remote_id = result.get("service_request_id") or None
            report.remote_token = None if report.remote_id else result.get("token")

    @classmethod
    def check_config(cls, settings: Settings) -> None:
        read_forwarding(settings.source)

    async def start(self) -> None:
        if self.endpoint is not None:
            self._poller = asyncio.create_task(self.services.leases.run_while_held(
                f"{NAME}:open311-poll", self._poll_forever), name="reports-open311-poll")

    async def stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        if self.endpoint is not None:
            await self.endpoint.close()

    async def _poll_forever(self) -> None:
        assert self.endpoint is not None
        while True:
            try:
                if await poll_endpoint(self.services.sessions, self.endpoint):
                    self.services.jobs.wake()
            except Exception as exc:
                log.warning("reports: the municipality's Open311 endpoint could not be polled (%s)", exc)
            await asyncio.sleep(self.endpoint.forwarding.poll_seconds)

    @classmethod
    def describe_outcome(cls, kind: str, result: dict[str, Any], tz: ZoneInfo) -> Described | None:
        headings = {"report_submitted": _("{initiative} — citizen report filed on {when}"),
                    "report_status": _("{initiative} — citizen report changed on {when}"),
                    "reports_month": _("{initiative} — citizen reports in a month, recorded on {when}")}
        if kind not in headings:
            return None
        if kind == "reports_month":
            facts = [ngettext("{count} report", "{count} reports", result["reports"]).format(count=result["reports"]),
                     ngettext("{count} fixed", "{count} fixed", result["fixed"]).format(count=result["fixed"])]
            if result.get("median_hours_to_acknowledge") is not None:
                facts.append(_("acknowledged in {hours} hours (median)").format(
                    hours=format_number(result["median_hours_to_acknowledge"])))
            if result.get("median_hours_to_fix") is not None:
                facts.append(_("fixed in {hours} hours (median)").format(
                    hours=format_number(result["median_hours_to_fix"])))
            by_category = ", ".join(f"{service_name(code)} {count}" for code, count in result["by_category"].items())
            return Described(headings[kind], [" · ".join(facts), by_category])
        facts = [_("#{number}, now {status}").format(number=result["number"], status=status_name(result["status"]))]
        if result.get("address"):
            facts.append(result["address"])
        if result.get("note"):
            facts.append(_("Note: {note}").format(note=result["note"]))
        return Described(headings[kind], [" · ".join(facts)])

    # --- the PA side (``_dashboard``) --------------------------------------------------------------------

    def activity(self) -> list[Select[Any]]:
        return dashboard.activity()

    def dashboard_filters(self) -> list[Filter]:
        return dashboard.filters()

    async def panels(self, session: AsyncSession, scope: Scope) -> list[Panel]:
        return await dashboard.panels(session, scope)

    async def digest(self, session: AsyncSession, scope: Scope) -> list[str]:
        return await dashboard.digest(session, scope)

    async def exports(self, session: AsyncSession, initiative_id: int) -> list[Export]:
        return await dashboard.exports(session, initiative_id, self.services.settings.public_url)

    def routes(self) -> list[web.RouteDef]:
        return [photo_route(self.services.sessions), *open311.routes(self.services)]

    async def describe_user_data(self, session: AsyncSession, user_id: int) -> list[str]:
        count = int(await session.scalar(select(func.count()).select_from(Report)
                                         .where(Report.user_id == user_id)) or 0)
        followed = int(await session.scalar(select(func.count()).select_from(Follower)
                                            .where(Follower.user_id == user_id)) or 0)
        if not count and not followed:
            return []
        return [ngettext("Reports: {count} report made by you; you follow {followed}.",
                         "Reports: {count} reports made by you; you follow {followed}.", count).format(
            count=count, followed=followed)]

    async def forget_user(self, session: AsyncSession, user_id: int) -> None:
        """The reports stay (the municipality acts on them), without who made them; following stops."""
        await session.execute(update(Report).where(Report.user_id == user_id).values(user_id=None))
        await session.execute(delete(Follower).where(Follower.user_id == user_id))


def photo_route(sessions: async_sessionmaker[AsyncSession]) -> web.RouteDef:
    """``GET /reports/photos/<token>.jpg``: a report's photo, for the PA and Open311's ``media_url``."""
    async def serve(request: web.Request) -> web.Response:
        async with sessions() as session:
            content = await session.scalar(select(ReportPhoto.content).where(
                ReportPhoto.token == request.match_info["token"]))
        if content is None:
            raise web.HTTPNotFound(text="no such photo\n")
        return web.Response(body=content, content_type="image/jpeg",
                            headers={"Cache-Control": "private, max-age=86400"})

    return web.get("/reports/photos/{token}.jpg", serve)


def _first_of_next_month(moment: datetime) -> datetime:
    return (moment.replace(day=1) + timedelta(days=32)).replace(day=1, hour=0, minute=10, second=0, microsecond=0)
