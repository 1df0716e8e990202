"""``/api/v1``: what an officer's systems may read (and, with a write key, change), described by the OpenAPI
document served beside it (``_openapi``).

Every endpoint but the document and its page wants an officer's API key (``Authorization: Bearer …`` or
``X-API-Key``): none or a wrong one is 401, a read key writing or an initiative not shared with the officer
is 403, too many requests is 429 with ``Retry-After``. Lists are paged with an opaque ``cursor`` (keyset on
the list's order, so pages stay right while rows are added) and filtered by ``since``/``until``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import and_, or_, select

from adapters.http.api._openapi import document
from adapters.http.api._ratelimit import RateLimiter
from adapters.http.dashboard._web import SERVICES, attachment, render
from bot.initiatives import PHASES
from bot.ledger import published
from bot.ledger_bundle import filename
from bot.officers import check_api_key, initiatives_of, readable_initiative
from bot.opendata import LEDGER_BUNDLE, OPEN_DATA, export_named, exports, member_record
from bot.panels import Scope, participants_by_week
from bot.services import Services
from storage import ledger
from storage.models import ChatLink, Initiative, Membership, Officer, PAOutcome
from storage.outbox import outcomes_query

LIMITER = web.AppKey("api_limiter", RateLimiter)
MAX_LIMIT = 200
Handler = Callable[[web.Request, Officer], Awaitable[web.StreamResponse]]


def _error(status: int, code: str, message: str, **headers: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status, headers=headers)


def _key_of(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("X-API-Key", "").strip()


def api(scope: str = "read") -> Callable[[Handler], Callable[[web.Request], Awaitable[web.StreamResponse]]]:
    def wrap(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            key = _key_of(request)
            if not key:
                return _error(401, "unauthenticated", "Send an API key: Authorization: Bearer <key>",
                              **{"WWW-Authenticate": 'Bearer realm="interlink"'})
            services = request.app[SERVICES]
            async with services.sessions.begin() as session:
                found = await check_api_key(session, key)
            if found is None:
                return _error(401, "invalid_key", "This API key is not valid (or was revoked).",
                              **{"WWW-Authenticate": 'Bearer realm="interlink", error="invalid_token"'})
            row, officer = found
            wait = request.app[LIMITER].take(row.prefix)
            if wait:
                return _error(429, "rate_limited", "Too many requests with this key; slow down.",
                              **{"Retry-After": str(max(1, round(wait)))})
            if scope == "write" and row.scope != "write":
                return _error(403, "read_only_key", "This key may only read.")
            try:
                return await handler(request, officer)
            except _BadRequest as exc:
                return _error(400, "bad_request", str(exc))

        return handle

    return wrap


class _BadRequest(Exception):
    pass


def _services(request: web.Request) -> Services:
    return request.app[SERVICES]


def _moment(request: web.Request, name: str, tz: ZoneInfo) -> datetime | None:
    raw = request.query.get(name)
    if not raw:
        return None
    try:
        if len(raw) == 10:
            return datetime.combine(date.fromisoformat(raw), time(0), tz).astimezone(UTC)
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise _BadRequest(f"{name} must be a date (2026-11-24) or an ISO 8601 time (got {raw[:40]!r})") from None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=tz).astimezone(UTC)


def _limit(request: web.Request) -> int:
    raw = request.query.get("limit", "50")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise _BadRequest(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return int(raw)


def _cursor(request: web.Request) -> list[Any] | None:
    raw = request.query.get("cursor")
    if not raw:
        return None
    try:
        found = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (ValueError, json.JSONDecodeError):
        raise _BadRequest("cursor is not one this API gave") from None
    if not isinstance(found, list) or len(found) != 2:
        raise _BadRequest("cursor is not one this API gave")
    return found


def _next_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


async def _initiative(request: web.Request, officer: Officer) -> Initiative:
    raw = request.match_info["initiative"]
    async with _services(request).sessions() as session:
        row = await readable_initiative(session, officer, int(raw)) if raw.isdigit() else None
    if row is None:
        raise web.HTTPForbidden(text=json.dumps({"error": {"code": "forbidden", "message":
                                                           "This initiative is not shared with you."}}),
                                content_type="application/json")
    return row


async def _describe(request: web.Request, row: Initiative) -> dict[str, Any]:
    async with _services(request).sessions() as session:
        networks = sorted(set(await session.scalars(select(ChatLink.platform).where(
            ChatLink.initiative_id == row.id))))
    return {"id": row.id, "name": row.name, "description": row.description, "phase": row.phase,
            "partner": row.partner, "timezone": row.timezone, "language": row.locale, "networks": networks,
            "listed": row.listed, "created_at": row.created_at.isoformat()}


@api()
async def me(request: web.Request, officer: Officer) -> web.StreamResponse:
    return web.json_response({"id": officer.id, "name": officer.name, "language": officer.locale,
                              "timezone": officer.timezone, "sees_all": officer.sees_all})


@api()
async def list_initiatives(request: web.Request, officer: Officer) -> web.StreamResponse:
    async with _services(request).sessions() as session:
        rows = await initiatives_of(session, officer.id)
    return web.json_response({"items": [await _describe(request, row) for row in rows]})


@api()
async def one_initiative(request: web.Request, officer: Officer) -> web.StreamResponse:
    return web.json_response(await _describe(request, await _initiative(request, officer)))


@api("write")
async def change_initiative(request: web.Request, officer: Officer) -> web.StreamResponse:
    row = await _initiative(request, officer)
    try:
        body = await request.json()
    except (ValueError, json.JSONDecodeError):
        raise _BadRequest("the body must be a JSON object") from None
    if not isinstance(body, dict) or not body or set(body) - {"description", "phase", "partner"}:
        raise _BadRequest("send one or more of: description, phase, partner")
    if "phase" in body and body["phase"] not in PHASES:
        raise _BadRequest(f"phase must be one of {', '.join(PHASES)}")
    limits = {"description": 2000, "partner": 200}
    for name, limit in limits.items():
        if name in body and (not isinstance(body[name], str) or len(body[name]) > limit):
            raise _BadRequest(f"{name} must be text of at most {limit} characters")
    async with _services(request).sessions.begin() as session:
        stored = await session.get_one(Initiative, row.id)
        for name, value in body.items():
            setattr(stored, name, value)
    async with _services(request).sessions() as session:
        row = await session.get_one(Initiative, row.id)
    return web.json_response(await _describe(request, row))


async def _outcomes(request: web.Request, officer: Officer, names: list[str]) -> web.StreamResponse:
    tz = ZoneInfo(officer.timezone)
    since, until, limit, cursor = _moment(request, "since", tz), _moment(request, "until", tz), _limit(request), \
        _cursor(request)
    query = outcomes_query(names, since, until)
    if cursor:
        try:
            after = datetime.fromisoformat(str(cursor[0]))
        except ValueError:
            raise _BadRequest("cursor is not one this API gave") from None
        query = query.where(or_(PAOutcome.decided_at > after,
                                and_(PAOutcome.decided_at == after, PAOutcome.uid > str(cursor[1]))))
    async with _services(request).pa_sessions() as pa:
        rows = list(await pa.scalars(query.limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return web.json_response({
        "items": [row.document for row in rows],
        "next_cursor": _next_cursor([rows[-1].decided_at.isoformat(), rows[-1].uid]) if more else None})


@api()
async def all_outcomes(request: web.Request, officer: Officer) -> web.StreamResponse:
    async with _services(request).sessions() as session:
        names = [row.name for row in await initiatives_of(session, officer.id)]
    wanted = request.query.get("initiative")
    return await _outcomes(request, officer, [name for name in names if not wanted or name == wanted])


@api()
async def initiative_outcomes(request: web.Request, officer: Officer) -> web.StreamResponse:
    return await _outcomes(request, officer, [(await _initiative(request, officer)).name])


@api()
async def members(request: web.Request, officer: Officer) -> web.StreamResponse:
    row = await _initiative(request, officer)
    limit, cursor = _limit(request), _cursor(request)
    secret = _services(request).settings.secret
    query = (select(Membership.user_id, Membership.team, Membership.role, Membership.joined_at)
             .where(Membership.initiative_id == row.id).order_by(Membership.user_id))
    if cursor:
        if not isinstance(cursor[1], int):
            raise _BadRequest("cursor is not one this API gave")
        query = query.where(Membership.user_id > cursor[1])
    async with _services(request).sessions() as session:
        rows = (await session.execute(query.limit(limit + 1))).all()
    more = len(rows) > limit
    rows = rows[:limit]
    items = [member_record(secret, row.id, *member) for member in rows]
    # The cursor is the last row's place in the order: opaque to clients, it names nobody they can read.
    return web.json_response({"items": items, "next_cursor": _next_cursor(["m", rows[-1][0]]) if more else None})


@api()
async def participation(request: web.Request, officer: Officer) -> web.StreamResponse:
    row = await _initiative(request, officer)
    tz = ZoneInfo(officer.timezone)
    until = _moment(request, "until", tz) or datetime.now(UTC)
    since = _moment(request, "since", tz) or until - timedelta(weeks=12)
    if since >= until:
        raise _BadRequest("since must be before until")
    activity = [query for interlinker in _services(request).interlinkers.values() for query in interlinker.activity()]
    async with _services(request).sessions() as session:
        weekly = await participants_by_week(session, activity, Scope((row.id,), since, until, tz))
    return web.json_response({"weeks": [{"week_start": week.isoformat(), "participants": count}
                                        for week, count in weekly.items()]})


@api()
async def list_exports(request: web.Request, officer: Officer) -> web.StreamResponse:
    row = await _initiative(request, officer)
    base = f"/api/v1/initiatives/{row.id}/exports"
    files = await exports(_services(request), row)
    items = [{"name": OPEN_DATA, "filename": f"initiative-{row.id}.zip", "media_type": "application/zip",
              "title": "Everything, as open data (ZIP with a README)", "url": f"{base}/{OPEN_DATA}"},
             {"name": LEDGER_BUNDLE, "filename": filename(row), "media_type": "application/zip",
              "title": "Verification bundle: ledger, signed checkpoints, anonymised ballots",
              "url": f"{base}/{LEDGER_BUNDLE}"}]
    items += [{"name": export.name, "filename": export.filename, "media_type": export.media_type,
               "title": export.title, "url": f"{base}/{export.name}"} for export in files]
    return web.json_response({"items": items})


@api()
async def one_export(request: web.Request, officer: Officer) -> web.StreamResponse:
    name = request.match_info["name"]
    found = await export_named(_services(request), await _initiative(request, officer), name)
    if found is None:
        return _error(404, "not_found", f"no export named {name[:60]!r}; GET {request.path.rsplit('/', 1)[0]} "
                                        "lists them")
    return attachment(found)


@api()
async def ledger_checkpoints(request: web.Request, officer: Officer) -> web.StreamResponse:
    """The signed checkpoints of your initiatives' ledgers (or of ``initiative``, an id): keep them, and
    ``interlink verify --checkpoints`` shows whether a ledger was later cut short or rewritten."""
    services = _services(request)
    wanted = request.query.get("initiative")
    if wanted is not None and not wanted.isdigit():
        return _error(400, "bad_request", "initiative must be an initiative's id")
    async with services.sessions() as session:
        ids = [row.id for row in await initiatives_of(session, officer.id)]
        if wanted is not None:
            if int(wanted) not in ids:
                return _error(403, "forbidden", "This initiative is not shared with you.")
            ids = [int(wanted)]
        signed = await ledger.checkpoints(session, ids)
    key = services.ledger_key
    return web.json_response({"key_id": key.key_id, "public_key": key.public_pem().decode(),
                              "items": [published(checkpoint) for checkpoint in signed]})


async def openapi_json(request: web.Request) -> web.StreamResponse:
    return web.json_response(document(_services(request).settings.public_url))


async def docs(request: web.Request) -> web.StreamResponse:
    """The document as a readable page (server-rendered: no Swagger UI from a CDN)."""
    spec = document(_services(request).settings.public_url)
    operations = [{"method": method.upper(), "path": path, **operation,
                   "parameters": [*item.get("parameters", []), *operation.get("parameters", [])]}
                  for path, item in spec["paths"].items() for method, operation in item.items()
                  if method != "parameters"]
    return render("api_docs.html", _services(request).settings.default_locale, spec=spec, operations=operations)


def routes() -> list[web.RouteDef]:
    return [
        web.get("/api/v1/openapi.json", openapi_json),
        web.get("/api/v1/docs", docs),
        web.get("/api/v1/me", me),
        web.get("/api/v1/ledger/checkpoints", ledger_checkpoints),
        web.get("/api/v1/outcomes", all_outcomes),
        web.get("/api/v1/initiatives", list_initiatives),
        web.get("/api/v1/initiatives/{initiative}", one_initiative),
        web.patch("/api/v1/initiatives/{initiative}", change_initiative),
        web.get("/api/v1/initiatives/{initiative}/outcomes", initiative_outcomes),
        web.get("/api/v1/initiatives/{initiative}/members", members),
        web.get("/api/v1/initiatives/{initiative}/participation", participation),
        web.get("/api/v1/initiatives/{initiative}/exports", list_exports),
        web.get("/api/v1/initiatives/{initiative}/exports/{name}", one_export),
    ]


__all__ = ["LIMITER", "routes"]
