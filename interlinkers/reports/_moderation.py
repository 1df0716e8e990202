"""A moderators' chat: ``/moderate`` in one of the initiative's chats (a staff group linked with ``/link``,
say) has every new report posted there with buttons to acknowledge or reject it, a rejection with a reason
its followers read. The card shows what was decided and by whom, so two moderators never both act."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import Context
from bot.errors import UserError
from bot.events import ChatRef
from bot.geo import Point
from bot.i18n import N_, _
from bot.interlinker import button, command, dialog, job
from bot.links import link_wish
from bot.roles import Role
from interlinkers.reports._models import Report, ReportPhoto
from interlinkers.reports._shared import NAME, service_name, status_name
from storage.models import InitiativeSetting
from storage.sql import insert

MODERATION = "reports.moderation"  # the initiative's setting: "platform|chat_id|thread_id"
MAX_REASON = 500


async def moderation_chat(session: AsyncSession, initiative_id: int) -> ChatRef | None:
    """The chat new reports of ``initiative_id`` are posted to, if its organisers chose one."""
    where = await session.scalar(select(InitiativeSetting.value).where(
        InitiativeSetting.initiative_id == initiative_id, InitiativeSetting.key == MODERATION))
    if not where:
        return None
    platform, chat_id, thread = where.split("|", 2)
    return ChatRef(platform, chat_id, thread or None)


class Moderation:
    """Mixed into ``Reports``."""

    async def change_status(self, ctx: Context, report: Report, status: str, note: str | None) -> None:
        raise NotImplementedError

    @command("moderate", help=N_("Post new reports here to acknowledge or reject them (organisers)"),
             usage=N_("[off]"), role=Role.ORGANISER)
    async def moderate(self, ctx: Context, args: str) -> None:
        if link_wish(args) == "off":
            await ctx.session.execute(delete(InitiativeSetting).where(
                InitiativeSetting.initiative_id == ctx.initiative.id, InitiativeSetting.key == MODERATION))
            ctx.reply(_("New reports are no longer posted here."))
            return
        if ctx.chat.is_private:
            raise UserError(_("Send /moderate in the group or room where moderators should see new reports."))
        value = f"{ctx.chat.platform}|{ctx.chat.chat_id}|{ctx.chat.thread_id or ''}"
        await ctx.session.execute(insert(ctx.session, InitiativeSetting).values(
            initiative_id=ctx.initiative.id, key=MODERATION, value=value).on_conflict_do_update(
            index_elements=["initiative_id", "key"], set_={"value": value}))
        ctx.reply(_("Every new report will be posted here, with buttons to acknowledge or reject it. "
                    "/moderate off stops this."))

    @job("moderate")
    async def post_for_moderation(self, ctx: Context, report_id: int) -> None:
        report = await ctx.session.get(Report, report_id)
        if report is None or report.initiative_id != ctx.initiative.id:
            return
        ctx.reply(await self._card(ctx, report), buttons=(
            ctx.button(_("Acknowledge"), NAME, "ack", report.id),
            ctx.button(_("Reject…"), NAME, "rej", report.id)), key=f"{NAME}:mod:{report.id}")

    async def _card(self, ctx: Context, report: Report, decided: str | None = None) -> str:
        lines = [_("New report #{number}: {service}").format(number=report.number,
                                                             service=service_name(report.service_code)),
                 report.description]
        if report.address:
            lines.append(report.address)
        if report.latitude is not None and report.longitude is not None:
            lines.append(Point(report.latitude, report.longitude).map_link)
        token = await ctx.session.scalar(select(ReportPhoto.token).where(ReportPhoto.report_id == report.id)
                                         .order_by(ReportPhoto.id).limit(1))
        if token:
            lines.append(f"{ctx.services.settings.public_url}/reports/photos/{token}.jpg")
        if decided:
            lines.append(decided)
        return "\n".join(lines)

    async def _moderated(self, ctx: Context, report_id: str) -> Report:
        ctx.authorize(role=Role.ORGANISER)
        report = await ctx.session.get(Report, int(report_id)) if report_id.isdigit() else None
        if report is None or report.initiative_id != ctx.initiative.id:
            raise UserError(_("This report is not this initiative's."))
        if report.status != "submitted":
            ctx.edit(f"{NAME}:mod:{report.id}", await self._card(ctx, report, _("Now: {status}.").format(
                status=status_name(report.status))))
            raise UserError(_("Report #{number} is already {status}.").format(number=report.number,
                                                                          status=status_name(report.status)))
        return report

    @button("ack")
    async def acknowledge(self, ctx: Context, report_id: str) -> None:
        report = await self._moderated(ctx, report_id)
        await self.change_status(ctx, report, "acknowledged", None)
        name = ctx.user_ref.display_name if ctx.user_ref else ""
        ctx.edit(f"{NAME}:mod:{report.id}", await self._card(ctx, report, _("Acknowledged by {name}.").format(
            name=name)))

    @button("rej")
    async def reject(self, ctx: Context, report_id: str) -> None:
        report = await self._moderated(ctx, report_id)
        await ctx.start_dialog(NAME, "reject", "reason", {"report": report.id})
        ctx.ask(_("Why is report #{number} rejected? Its reporter will read your answer. (/cancel to keep "
                  "it.)").format(number=report.number))

    @dialog("reject")
    async def rejection(self, ctx: Context, text: str, step: str, data: dict[str, Any]) -> None:
        reason = " ".join(text.split())
        if not 3 <= len(reason) <= MAX_REASON:
            raise UserError(_("Write the reason in a few words (up to {limit} characters).").format(
                limit=MAX_REASON))
        report = await self._moderated(ctx, str(data["report"]))
        await ctx.end_dialog()
        await self.change_status(ctx, report, "closed", reason)
        name = ctx.user_ref.display_name if ctx.user_ref else ""
        ctx.edit(f"{NAME}:mod:{report.id}", await self._card(ctx, report, _("Rejected by {name}: {reason}").format(
            name=name, reason=reason)))
        ctx.reply(_("Report #{number} is rejected; its followers are told why.").format(number=report.number))
