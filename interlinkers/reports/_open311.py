"""Open311 GeoReport v2, served: what municipal back-offices already read and write. Each initiative is a
jurisdiction (``jurisdiction_id`` = its id). Field names follow the specification exactly; statuses are
``open`` or ``closed`` (FixMyStreet's finer words travel in ``status_notes``); ``media_url`` is the photo's
unguessable link. Filing (``POST requests.json``) needs an ``api_key`` made with ``interlink open311-key``;
only its hash is stored, so the lookup compares no secret byte by byte. The specification has no way to change
a request, so the PA's status changes go to ``POST requests/{id}.json`` (same key; our extension). JSON, or XML
when the path ends in ``.xml``."""

from __future__ import annotations

import argparse
import json
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import jobs
from bot.geo import read_point
from bot.i18n import using_locale
from bot.interlinker import CliCommand
from bot.links import new_token, token_hash
from bot.services import Services
from interlinkers.reports._models import ApiKey, Report, ReportPhoto, StatusChange
from interlinkers.reports._moderation import moderation_chat
from interlinkers.reports._shared import (
    CLOSED,
    MAX_DESCRIPTION,
    NAME,
    SERVICES,
    STATUSES,
    apply_status,
    facts,
    named_initiative,
    service_name,
    status_name,
    tell_later,
)
from storage.models import Initiative
from storage.outbox import record_outcome
from storage.sql import next_number

PREFIX = "/open311/v2"
MAX_RESULTS = 1000
MAX_SPAN = timedelta(days=90)


def _error(status: int, description: str) -> web.Response:
    return web.json_response([{"code": status, "description": description}], status=status)


def _time(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat(timespec="seconds") if value else None


def as_request(report: Report, photo: str | None, locale: str, public_url: str) -> dict[str, Any]:
    """A report as a GeoReport v2 service request (``photo``: the token of its first photo, if any)."""
    with using_locale(locale):
        notes = status_name(report.status) + (f": {report.status_note}" if report.status_note else "")
        name = service_name(report.service_code)
    return {"service_request_id": str(report.id), "status": "closed" if report.status in CLOSED else "open",
            "status_notes": notes, "service_name": name, "service_code": report.service_code,
            "description": report.description, "agency_responsible": None, "service_notice": None,
            "requested_datetime": _time(report.created_at), "updated_datetime": _time(report.updated_at),
            "expected_datetime": None, "address": report.address, "address_id": None, "zipcode": None,
            "lat": report.latitude, "long": report.longitude,
            "media_url": f"{public_url}/reports/photos/{photo}.jpg" if photo else None}


async def as_requests(session: AsyncSession, reports: list[Report], locale: str, public_url: str
                      ) -> list[dict[str, Any]]:
    """``reports`` as service requests, each with its first photo's link (one query for the photos)."""
    tokens: dict[int, str] = {}
    if reports:
        for report_id, token in (await session.execute(
                select(ReportPhoto.report_id, ReportPhoto.token).where(
                    ReportPhoto.report_id.in_([r.id for r in reports])).order_by(ReportPhoto.id))).all():
            tokens.setdefault(report_id, token)
    return [as_request(report, tokens.get(report.id), locale, public_url) for report in reports]


def routes(services: Services) -> list[web.RouteDef]:
    sessions, settings = services.sessions, services.settings

    async def jurisdiction(request: web.Request, session: AsyncSession, given: str | None = None) -> Initiative:
        raw = given if given is not None else request.query.get("jurisdiction_id", "")
        initiative = await session.get(Initiative, int(raw)) if raw.isdigit() else None
        if initiative is None:
            raise web.HTTPBadRequest(text='[{"code":400,"description":"jurisdiction_id missing or unknown"}]',
                                     content_type="application/json")
        return initiative

    async def with_photos(session: AsyncSession, reports: list[Report], locale: str) -> list[dict[str, Any]]:
        return await as_requests(session, reports, locale, settings.public_url)

    async def services_list(request: web.Request) -> web.Response:
        async with sessions() as session:
            initiative = await jurisdiction(request, session)
        with using_locale(initiative.locale):
            return web.json_response([{"service_code": code, "service_name": service_name(code), "description": "",
                                       "metadata": False, "type": "realtime", "keywords": "", "group": ""}
                                      for code in SERVICES])

    async def definition(request: web.Request) -> web.Response:
        code = request.match_info["code"]
        if code not in SERVICES:
            return _error(404, "no such service_code")
        return web.json_response({"service_code": code, "attributes": []})

    async def requests_list(request: web.Request) -> web.Response:
        query = request.query
        now = datetime.now(UTC)
        try:
            end = datetime.fromisoformat(query["end_date"]) if "end_date" in query else now
            start = datetime.fromisoformat(query["start_date"]) if "start_date" in query else end - MAX_SPAN
        except ValueError:
            return _error(400, "start_date and end_date are w3c date-times")
        start, end = (moment if moment.tzinfo else moment.replace(tzinfo=UTC) for moment in (start, end))
        if end - start > MAX_SPAN or end < start:
            return _error(400, "start_date to end_date spans at most 90 days")
        async with sessions() as session:
            initiative = await jurisdiction(request, session)
            statement = select(Report).where(Report.initiative_id == initiative.id)
            if ids := query.get("service_request_id"):
                wanted = [int(part) for part in ids.split(",") if part.strip().isdigit()]
                statement = statement.where(Report.id.in_(wanted))  # the dates do not apply, as the spec says
            else:
                statement = statement.where(Report.created_at >= start, Report.created_at <= end)
            if codes := query.get("service_code"):
                statement = statement.where(Report.service_code.in_(codes.split(",")))
            if query.get("status") in ("open", "closed"):
                closed = Report.status.in_(CLOSED)
                statement = statement.where(closed if query["status"] == "closed" else ~closed)
            reports = list((await session.scalars(statement.order_by(Report.created_at.desc())
                                                  .limit(MAX_RESULTS))).all())
            body = await with_photos(session, reports, initiative.locale)
        return web.json_response(body)

    async def of_jurisdiction(request: web.Request, session: AsyncSession, raw: str,
                              initiative: Initiative | None = None) -> tuple[Initiative, Report | None]:
        """The jurisdiction, and its request ``raw`` (None when it has no such request)."""
        initiative = initiative or await jurisdiction(request, session)
        report = await session.get(Report, int(raw)) if raw.isdigit() else None
        return initiative, report if report is not None and report.initiative_id == initiative.id else None

    async def one_request(request: web.Request) -> web.Response:
        async with sessions() as session:
            initiative, report = await of_jurisdiction(request, session, request.match_info["id"])
            if report is None:
                return _error(404, "no such service_request_id")
            body = await with_photos(session, [report], initiative.locale)
        return web.json_response(body)

    async def token(request: web.Request) -> web.Response:
        """Requests are numbered at once, so a token is the request's id."""
        async with sessions() as session:
            _initiative, report = await of_jurisdiction(request, session, request.match_info["token"])
        if report is None:
            return _error(404, "no such token")
        return web.json_response([{"service_request_id": str(report.id), "token": str(report.id)}])

    async def authorised(request: web.Request, session: AsyncSession, form: Any) -> Initiative | None:
        """The jurisdiction the form names, when its ``api_key`` is one of that jurisdiction's."""
        key = str(form.get("api_key", ""))
        initiative = await jurisdiction(request, session, str(form.get("jurisdiction_id", "")))
        found = await session.scalar(select(ApiKey).where(ApiKey.key_hash == token_hash(key),
                                                          ApiKey.initiative_id == initiative.id))
        return initiative if key and found is not None else None

    async def create(request: web.Request) -> web.Response:
        form = await request.post()
        async with sessions.begin() as session:
            initiative = await authorised(request, session, form)
            if initiative is None:
                return _error(403, "api_key missing or not valid for this jurisdiction")
            code = str(form.get("service_code", ""))
            if code not in SERVICES:
                return _error(400, "service_code missing or unknown")
            description = " ".join(str(form.get("description", "")).split())[:MAX_DESCRIPTION]
            address = str(form.get("address_string", "")).strip()[:300] or None
            try:
                lat = float(str(form["lat"])) if "lat" in form else None
                lon = float(str(form["long"])) if "long" in form else None
            except ValueError:
                return _error(400, "lat and long are decimal degrees")
            if lat is not None and lon is not None:
                _words, point = read_point(f"{lat:.6f}, {lon:.6f}")
                if point is None:
                    return _error(400, "lat and long are out of range")
            elif address is None:
                return _error(400, "a location is required: lat and long, or address_string")
            number = await next_number(session, f"report:{initiative.id}")
            report = Report(initiative_id=initiative.id, number=number, service_code=code,
                            description=description or "", latitude=lat, longitude=lon, address=address,
                            status="submitted", user_id=None, platform="open311", chat_id="")
            session.add(report)
            await session.flush()
            session.add(StatusChange(report_id=report.id, status="submitted", note="Open311"))
            with using_locale(initiative.locale):
                await record_outcome(session, initiative.id, "report_submitted", service_name(code),
                                     {**facts(report, 0), "via": "open311"})
            if (moderators := await moderation_chat(session, initiative.id)) is not None:
                await jobs.schedule(session, f"{NAME}:moderate:{report.id}", NAME, "moderate", moderators.platform,
                                    moderators.chat_id, datetime.now(UTC), {"report_id": report.id},
                                    thread_id=moderators.thread_id)
            filed = str(report.id)
        services.outbox.wake()
        services.jobs.wake()
        return web.json_response([{"service_request_id": filed, "token": filed,
                                   "service_notice": None, "account_id": None}], status=201)

    async def change(request: web.Request) -> web.Response:
        """Not in GeoReport v2, which has no way to update a request: the PA's back-office sets a status
        (ours, or open/closed) and a note; the report's followers are told in their languages."""
        form = await request.post()
        async with sessions.begin() as session:
            initiative = await authorised(request, session, form)
            if initiative is None:
                return _error(403, "api_key missing or not valid for this jurisdiction")
            _same, report = await of_jurisdiction(request, session, request.match_info["id"], initiative)
            if report is None:
                return _error(404, "no such service_request_id")
            word = str(form.get("status", "")).strip().lower().replace(" ", "_")
            status = {"open": "reopened" if report.status in CLOSED else report.status}.get(word, word)
            if status not in STATUSES:
                return _error(400, f"status is one of open, {', '.join(STATUSES)}")
            note = " ".join(str(form.get("status_notes", "")).split())[:MAX_DESCRIPTION] or None
            with using_locale(initiative.locale):
                await apply_status(session, report, status, note)
            await tell_later(session, report, status, note)
            body = await with_photos(session, [report], initiative.locale)
        services.jobs.wake()
        services.outbox.wake()
        return web.json_response(body)

    return [web.get(f"{PREFIX}/services.{FORMAT}", _formatted(services_list, "services", "service")),
            web.get(f"{PREFIX}/services/{{code}}.{FORMAT}", _formatted(definition, "service_definition", "")),
            web.get(f"{PREFIX}/requests.{FORMAT}", _formatted(requests_list, "service_requests", "request")),
            web.post(f"{PREFIX}/requests.{FORMAT}", _formatted(create, "service_requests", "request")),
            web.get(f"{PREFIX}/requests/{{id}}.{FORMAT}", _formatted(one_request, "service_requests", "request")),
            web.post(f"{PREFIX}/requests/{{id}}.{FORMAT}", _formatted(change, "service_requests", "request")),
            web.get(f"{PREFIX}/tokens/{{token}}.{FORMAT}", _formatted(token, "service_requests", "request"))]


FORMAT = "{format:json|xml}"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _formatted(handler: Handler, root: str, item: str) -> Handler:
    """The same answer as XML when the path ends in ``.xml``, with the specification's element names
    (``<service_requests><request>…``; errors as ``<errors><error>``)."""
    async def respond(request: web.Request) -> web.StreamResponse:
        try:
            answer = await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            answer = web.Response(status=exc.status, text=exc.text or "", content_type="application/json")
        if request.match_info.get("format") != "xml" or not isinstance(answer, web.Response):
            return answer
        body = json.loads(answer.text or "null")
        name, element = ("errors", "error") if answer.status >= 400 else (root, item)
        top = ET.Element(name)
        for entry in body if isinstance(body, list) else [body]:
            _fill(ET.SubElement(top, element) if element else top, entry)
        return web.Response(status=answer.status, content_type="text/xml", charset="utf-8",
                            body=ET.tostring(top, encoding="utf-8", xml_declaration=True))

    return respond


def _fill(parent: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            if isinstance(inner, list):  # a service definition's attributes: <attributes><attribute>…
                holder = ET.SubElement(parent, key)
                for entry in inner:
                    _fill(ET.SubElement(holder, key.removesuffix("s")), entry)
            else:
                _fill(ET.SubElement(parent, key), inner)
    elif isinstance(value, bool):
        parent.text = "true" if value else "false"
    elif value is not None:
        parent.text = str(value)


def _key_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("initiative", help="the initiative (its name, or its id) the key files reports for")


async def _new_key(sessions: async_sessionmaker[AsyncSession], args: argparse.Namespace) -> str:
    async with sessions.begin() as session:
        wanted = str(args.initiative)
        initiative = await named_initiative(session, wanted)
        if initiative is None:
            return f"no initiative called {wanted!r}"
        key = new_token()
        session.add(ApiKey(initiative_id=initiative.id, key_hash=token_hash(key)))
    return (f"Open311 api_key for {initiative.name} (jurisdiction_id {initiative.id}); shown once, only its hash is "
            f"kept:\n{key}")


COMMANDS = (CliCommand("open311-key", "make an Open311 api_key for an initiative (printed once)", _key_arguments,
                       _new_key),)
