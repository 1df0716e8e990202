"""``/report``: the category (buttons), a description, the place (a shared location, coordinates or an
address), then photos, then a summary to confirm. A place near an open report of the same kind is offered
as "is it this one?": choosing it follows that report instead of filing the same thing twice."""

from __future__ import annotations

import base64
from typing import Any

from sqlalchemy import select

from bot.context import Context
from bot.errors import UserError
from bot.geo import Point, read_point
from bot.i18n import _
from bot.interlinker import button, dialog
from bot.photos import clean
from bot.words import is_skip
from interlinkers.reports._models import Follower, Report
from interlinkers.reports._shared import (
    CLOSED,
    MAX_DESCRIPTION,
    MAX_PHOTOS,
    NAME,
    NEAR_METRES,
    SERVICES,
    service_name,
    status_name,
)
from storage.models import Initiative, Membership

_DONE = {"done", "fatto", "finito", "listo", "hecho", "gatavs", "viss"}


class ReportDialog:
    """Mixed into ``Reports``: the dialog ends in ``file_report``."""

    async def file_report(self, ctx: Context, data: dict[str, Any]) -> Report:
        raise NotImplementedError

    async def start_report(self, ctx: Context) -> None:
        await ctx.start_dialog(NAME, "report", "service", {"initiative": ctx.initiative.id})
        buttons = [ctx.button(service_name(code), NAME, "k", code) for code in SERVICES]
        private = None if ctx.chat.is_private else ctx.link_button(_("Continue privately"),
                                                                   f"{NAME}-g{ctx.initiative.id}")
        ctx.ask(_("What is it about? Choose below, or write it. (Send /cancel to stop.)"),
                (*buttons, *((private,) if private else ())))

    async def on_start(self, ctx: Context, payload: str) -> None:
        """``g<initiative>``: a report begun in a group, made in the private chat (the place stays private)
        and filed for that group, if the person is one of its members."""
        wanted = payload.removeprefix("g")
        member = await ctx.session.get(Membership, (int(wanted), ctx.user_id)) if wanted.isdigit() else None
        if member is None:
            raise UserError(_("This link is not valid any more. Send /help to start again."))
        group = await ctx.session.scalar(select(Initiative.name).where(Initiative.id == member.initiative_id))
        await ctx.start_dialog(NAME, "report", "service", {"initiative": member.initiative_id})
        ctx.ask(_("Your report for “{group}”: what is it about?").format(group=group),
                tuple(ctx.button(service_name(code), NAME, "k", code) for code in SERVICES))

    @dialog("report")
    async def report_dialog(self, ctx: Context, text: str, step: str, data: dict[str, Any]) -> None:
        if step == "service":
            await self._described(ctx, self._service(text), data)
        elif step == "description":
            description = " ".join(text.split())
            if not 3 <= len(description) <= MAX_DESCRIPTION:
                raise UserError(_("Describe the problem in a few words (up to {limit} characters).").format(
                    limit=MAX_DESCRIPTION))
            await ctx.start_dialog(NAME, "report", "place", {**data, "description": description})
            ctx.ask(_("Where is it? Share a location, or write the address or the coordinates "
                      "(for example: Via Roma 12, or 45.0703, 7.6869)."))
        elif step == "place":
            await self._placed(ctx, data, text)
        elif step == "photos":
            await self._photo(ctx, data, text)
        elif step == "confirm":
            if is_skip(text):
                await ctx.end_dialog()
                ctx.reply(_("Nothing was filed."))
            else:
                await self._submit(ctx, data)
        else:  # "same": waiting for a button
            raise UserError(_("Press one of the buttons: the report it is, or “It is a new one”."))

    # --- steps ---------------------------------------------------------------------------------------

    async def _described(self, ctx: Context, code: str, data: dict[str, Any]) -> None:
        await ctx.start_dialog(NAME, "report", "description", {**data, "service": code})
        ctx.ask(_("{service}: describe the problem in a few words.").format(service=service_name(code)))

    async def _placed(self, ctx: Context, data: dict[str, Any], text: str) -> None:
        words, point = read_point(text)
        if not words and point is None:
            raise UserError(_("Share a location, or write the address or the coordinates."))
        place = {**data, "address": words[:300] or None, "lat": point.latitude if point else None,
                 "lon": point.longitude if point else None}
        near = await self._near(ctx, int(data.get("initiative") or ctx.initiative.id), data["service"],
                                point) if point is not None else []
        if near:
            await ctx.start_dialog(NAME, "report", "same", place)
            lines = [_("Reports of the same kind close by are still open. Is it one of these?")]
            buttons = []
            for report, metres in near:
                lines.append(_("#{number}: {description} ({metres} m away, {status})").format(
                    number=report.number, description=report.description[:80], metres=round(metres),
                    status=status_name(report.status)))
                buttons.append(ctx.button(_("It is #{number}").format(number=report.number), NAME, "m", report.id))
            buttons.append(ctx.button(_("It is a new one"), NAME, "n"))
            ctx.ask("\n".join(lines), tuple(buttons))
            return
        await self._ask_photos(ctx, place)

    async def _ask_photos(self, ctx: Context, data: dict[str, Any]) -> None:
        await ctx.start_dialog(NAME, "report", "photos", {**data, "photos": data.get("photos", [])})
        ctx.ask(_("Send a photo if you can (up to {count}), then press Done. No photo? Press Done.").format(
            count=MAX_PHOTOS), (ctx.button(_("Done"), NAME, "p"),))

    async def _photo(self, ctx: Context, data: dict[str, Any], text: str) -> None:
        if ctx.photo is None:
            if is_skip(text) or text.strip().casefold() in _DONE | {_("Done").casefold()}:
                await self._summary(ctx, data)
                return
            raise UserError(_("Send a photo, or press Done."))
        photos = list(data.get("photos", []))
        if len(photos) >= MAX_PHOTOS:
            raise UserError(_("That is {count} photos already: press Done.").format(count=MAX_PHOTOS))
        photos.append(base64.b64encode(clean(ctx.photo).content).decode())
        await ctx.start_dialog(NAME, "report", "photos", {**data, "photos": photos})
        ctx.ask(_("Photo {count} added. Send another, or press Done.").format(count=len(photos)),
                (ctx.button(_("Done"), NAME, "p"),))

    async def _summary(self, ctx: Context, data: dict[str, Any]) -> None:
        await ctx.start_dialog(NAME, "report", "confirm", data)
        where = data.get("address") or ""
        if data.get("lat") is not None:
            where = f"{where} ({Point(data['lat'], data['lon'])})".strip()
        ctx.ask("\n".join([
            _("Your report:"),
            _("What: {service}").format(service=service_name(data["service"])),
            _("Description: {description}").format(description=data["description"]),
            _("Where: {place}").format(place=where),
            _("Photos: {count}").format(count=len(data.get("photos", []))),
            _("Send it to the municipality?"),
        ]), (ctx.button(_("Send"), NAME, "f", "go"), ctx.button(_("Cancel"), NAME, "f", "no")))

    async def _submit(self, ctx: Context, data: dict[str, Any]) -> None:
        await ctx.end_dialog()
        report = await self.file_report(ctx, data)
        ctx.reply(_("Report #{number} filed: {service}. I will tell you when its status changes; /myreports "
                    "lists yours.").format(number=report.number, service=service_name(report.service_code)))

    # --- buttons -------------------------------------------------------------------------------------

    @button("k")
    async def service_button(self, ctx: Context, code: str) -> None:
        row = await self._expect(ctx, "service")
        await self._described(ctx, self._service(code), dict(row.data))

    @button("m")
    async def same_button(self, ctx: Context, report_id: str) -> None:
        row = await self._expect(ctx, "same")
        report = await ctx.session.get(Report, int(report_id))
        if report is None or report.initiative_id != int(row.data.get("initiative") or 0):
            raise UserError(_("This button is not valid any more. Send /help to start again."))
        await ctx.end_dialog()
        if await ctx.session.get(Follower, (report.id, ctx.user_id)) is None:
            ctx.session.add(Follower(report_id=report.id, user_id=ctx.user_id))
        ctx.reply(_("Thank you: you now follow report #{number} ({status}) and will be told when it changes.")
                  .format(number=report.number, status=status_name(report.status)))

    @button("n")
    async def new_button(self, ctx: Context) -> None:
        row = await self._expect(ctx, "same")
        await self._ask_photos(ctx, dict(row.data))

    @button("p")
    async def photos_done(self, ctx: Context) -> None:
        row = await self._expect(ctx, "photos")
        await self._summary(ctx, dict(row.data))

    @button("f")
    async def final_button(self, ctx: Context, choice: str) -> None:
        row = await self._expect(ctx, "confirm")
        if choice == "go":
            await self._submit(ctx, dict(row.data))
        else:
            await ctx.end_dialog()
            ctx.reply(_("Nothing was filed."))

    # --- internals -----------------------------------------------------------------------------------

    @staticmethod
    async def _expect(ctx: Context, step: str) -> Any:
        row = await ctx.current_dialog()
        if row is None or row.interlinker != NAME or row.step != step:
            raise UserError(_("This button is not valid any more. Send /help to start again."))
        return row

    @staticmethod
    def _service(typed: str) -> str:
        word = typed.strip().casefold()
        for code in SERVICES:
            if word in {code, service_name(code).casefold()}:
                return code
        raise UserError(_("Choose one of the buttons, or write one of: {services}.").format(
            services=", ".join(service_name(code) for code in SERVICES)))

    async def _near(self, ctx: Context, initiative_id: int, service: str,
                    point: Point) -> list[tuple[Report, float]]:
        """Open reports of ``service`` in the initiative within ``NEAR_METRES`` of ``point``, nearest first."""
        degrees = NEAR_METRES / 111_000 * 2  # a box well around the circle, then the real distance
        rows = (await ctx.session.scalars(select(Report).where(
            Report.initiative_id == initiative_id, Report.service_code == service,
            Report.status.not_in(CLOSED), Report.latitude.between(point.latitude - degrees, point.latitude + degrees),
            Report.longitude.between(point.longitude - degrees * 2, point.longitude + degrees * 2)))).all()
        found = [(row, point.metres_to(Point(row.latitude, row.longitude))) for row in rows
                 if row.latitude is not None and row.longitude is not None]
        return sorted(((row, metres) for row, metres in found if metres <= NEAR_METRES), key=lambda item: item[1])[:5]
