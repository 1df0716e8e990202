"""The dashboard's pages: log-in by link, the overview of an officer's initiatives, one page per initiative
with the core's panels and every Interlinker's, downloads, API keys and the officer's account (language,
time zone, digest, chat accounts). The public directory of initiatives is here too."""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import segno
from aiohttp import web
from sqlalchemy import func, select

from adapters.http.dashboard import _charts
from adapters.http.dashboard._web import (
    COOKIE,
    Period,
    Viewer,
    attachment,
    officer_page,
    period,
    render,
    services,
    viewer,
)
from bot.digests import FREQUENCIES, parse_clock, subscribe
from bot.errors import UserError
from bot.i18n import (
    SUPPORTED_LOCALES,
    _,
    format_long_date,
    format_moment,
    format_number,
    format_short_date,
    using_locale,
    weekday_name,
)
from bot.initiatives import PHASES, TEAMS, join_payload, phase_label, team_label
from bot.officers import (
    SCOPES,
    api_keys_of,
    close_session,
    identity_code,
    initiatives_of,
    new_api_key,
    open_session,
    read_login,
    readable_initiative,
    revoke_api_key,
    use_login,
)
from bot.opendata import export_named, exports
from bot.panels import Chart, Figure, Filter, Panel, Scope, Series, Table, members_by_team, participants_by_week
from storage.models import ChatLink, DigestSubscription, Initiative, Membership, Officer
from storage.outbox import read_outcomes

# --- log-in ---------------------------------------------------------------------------------------------


async def login_form(request: web.Request) -> web.StreamResponse:
    """A valid link shows a button: opening the link alone (a chat app's preview) does not use it up."""
    token = request.query.get("t", "")
    settings = services(request).settings
    found = read_login(settings.secret, token) if token else None
    officer = None
    if found is not None:
        async with services(request).sessions() as session:
            officer = await session.get(Officer, found.officer_id)
    locale = officer.locale if officer else settings.default_locale
    if officer is None:
        return render("login.html", locale, status=400 if token else 200, token="", name="", invalid=bool(token))
    return render("login.html", locale, token=token, name=officer.name, invalid=False)


async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    settings = services(request).settings
    async with services(request).sessions.begin() as session:
        officer = await use_login(session, settings.secret, str(form.get("t", "")))
        token = await open_session(session, officer.id) if officer else ""
    if officer is None:
        return render("login.html", settings.default_locale, status=400, token="", name="", invalid=True)
    response = web.HTTPSeeOther("/dashboard/")
    response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", path="/",
                        secure=settings.public_url.startswith("https://"))
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    found = await viewer(request)
    if found is not None:
        async with services(request).sessions.begin() as session:
            await close_session(session, found.session_token)
    response = web.HTTPSeeOther("/dashboard/login")
    response.del_cookie(COOKIE, path="/")
    raise response


# --- overview and initiative pages ----------------------------------------------------------------------


@dataclass
class RenderedPanel:
    title: str
    figures: tuple[Figure, ...]
    chart: Any
    table: Table | None
    empty: str


def _rendered(panels: list[Panel], prefix: str) -> list[RenderedPanel]:
    return [RenderedPanel(panel.title, panel.figures,
                          _charts.render(panel.chart, f"{prefix}{index}") if panel.chart else None,
                          panel.table, panel.empty) for index, panel in enumerate(panels)]


async def _participation_panel(request: web.Request, scope: Scope, title: str) -> Panel:
    activity = [select_ for interlinker in services(request).interlinkers.values()
                for select_ in interlinker.activity()]
    past = replace(scope, until=min(scope.until, datetime.now(UTC)))  # weeks to come have nobody in them yet
    if past.until <= past.since:
        return Panel(title, empty=_("Nobody has taken part in this period yet."))
    async with services(request).sessions() as session:
        weekly = await participants_by_week(session, activity, past)
    labels = tuple(format_short_date(week) for week in weekly)
    values = tuple(float(count) for count in weekly.values())
    if not any(values):
        return Panel(title, empty=_("Nobody has taken part in this period yet."))
    long_labels = [format_long_date(week) for week in weekly]
    chart = Chart("line", labels, (Series(_("participants"), values),),
                  _("Distinct participants per week, from {first} to {last}").format(
                      first=long_labels[0], last=long_labels[-1]))
    table = Table((_("Week starting"), _("Participants")), tuple(
        (label, format_number(int(value))) for label, value in zip(long_labels, values, strict=True)))
    figures = (Figure(_("Most in one week"), format_number(int(max(values)))),)
    return Panel(title, figures, chart, table)


async def _teams_panel(request: web.Request, initiative_ids: tuple[int, ...]) -> Panel:
    async with services(request).sessions() as session:
        counts = await members_by_team(session, initiative_ids)
    labels = tuple(team_label(team) for team in TEAMS)
    values = tuple(float(counts.get(team, 0)) for team in TEAMS)
    title = _("Members by team type")
    if not any(values):
        return Panel(title, empty=_("No members yet."))
    return Panel(title, (Figure(_("Members"), format_number(int(sum(values)))),),
                 Chart("bar", labels, (Series(_("members"), values),), _("Members by team type")),
                 Table((_("Team type"), _("Members")),
                       tuple((label, format_number(int(v))) for label, v in zip(labels, values, strict=True))))


async def _outcomes_panel(request: web.Request, initiative: Initiative, window: Period) -> Panel:
    outcomes = await read_outcomes(services(request).pa_sessions, initiative.name, window.since, window.until)
    title = _("Decisions and results")
    if not outcomes:
        return Panel(title, empty=_("Nothing was decided in this period."))
    rows = tuple((format_moment(datetime.fromisoformat(doc["decided_at"]), window.tz, year=True), doc["title"],
                  " / ".join(doc.get("result", {}).get("winners", [])) or "—") for doc in reversed(outcomes))
    return Panel(title, (Figure(_("Decisions"), format_number(len(outcomes))),),
                 table=Table((_("When"), _("What"), _("Result")), rows))


def _filters(request: web.Request) -> tuple[list[Filter], dict[str, str]]:
    offered = [found for interlinker in services(request).interlinkers.values()
               for found in interlinker.dashboard_filters()]
    chosen = {f.name: request.query[f.name] for f in offered
              if request.query.get(f.name) in {value for value, _label in f.options}}
    return offered, chosen


async def overview(request: web.Request, seen: Viewer) -> web.StreamResponse:
    window = period(request, seen.tz)
    async with services(request).sessions() as session:
        initiatives = await initiatives_of(session, seen.officer.id)
        members = dict((await session.execute(select(Membership.initiative_id, func.count()).where(
            Membership.initiative_id.in_([row.id for row in initiatives])).group_by(Membership.initiative_id))).all())
    ids = tuple(row.id for row in initiatives)
    scope = Scope(ids, window.since, window.until, seen.tz)
    panels = [await _participation_panel(request, scope, _("Participation across your initiatives")),
              await _teams_panel(request, ids)] if ids else []
    cards = []
    for row in initiatives:
        decided = await read_outcomes(services(request).pa_sessions, row.name, window.since, window.until)
        cards.append({"initiative": row, "phase": phase_label(row.phase), "members": members.get(row.id, 0),
                      "decided": len(decided)})
    return render("overview.html", seen.locale, viewer=seen, period=window, cards=cards,
                  panels=_rendered(panels, "o"), filters=[], chosen={}, query=request.query)


async def _initiative(request: web.Request, seen: Viewer) -> Initiative:
    try:
        initiative_id = int(request.match_info["initiative"])
    except ValueError:
        raise web.HTTPNotFound() from None
    async with services(request).sessions() as session:
        initiative = await readable_initiative(session, seen.officer, initiative_id)
    if initiative is None:
        raise web.HTTPNotFound(text=_("No such initiative among yours."))
    return initiative


async def initiative_page(request: web.Request, seen: Viewer) -> web.StreamResponse:
    initiative = await _initiative(request, seen)
    window = period(request, seen.tz)
    offered, chosen = _filters(request)
    scope = Scope((initiative.id,), window.since, window.until, seen.tz, chosen)
    panels = [await _participation_panel(request, scope, _("Participation")), await _teams_panel(
        request, (initiative.id,)), await _outcomes_panel(request, initiative, window)]
    async with services(request).sessions() as session:
        for interlinker in services(request).interlinkers.values():
            panels.extend(await interlinker.panels(session, scope))
        chats = list(await session.execute(select(ChatLink.platform, func.count()).where(
            ChatLink.initiative_id == initiative.id).group_by(ChatLink.platform)))
    files = await exports(services(request), initiative)
    return render("initiative.html", seen.locale, viewer=seen, initiative=initiative, period=window,
                  phase=phase_label(initiative.phase), chats=chats, panels=_rendered(panels, "p"),
                  filters=offered, chosen=chosen, files=files, query=request.query)


async def download(request: web.Request, seen: Viewer) -> web.StreamResponse:
    found = await export_named(services(request), await _initiative(request, seen), request.match_info["name"])
    if found is None:
        raise web.HTTPNotFound()
    return attachment(found)


# --- API keys and account -------------------------------------------------------------------------------


async def keys_page(request: web.Request, seen: Viewer) -> web.StreamResponse:
    shown = ""
    problem = ""
    if request.method == "POST":
        form = await request.post()
        async with services(request).sessions.begin() as session:
            if form.get("revoke"):
                await revoke_api_key(session, seen.officer.id, int(str(form["revoke"])))
            elif str(form.get("scope")) in SCOPES:
                shown = await new_api_key(session, seen.officer.id, str(form["scope"]), str(form.get("label", "")))
            else:
                problem = _("Choose what the key may do: read, or read and write.")
    async with services(request).sessions() as session:
        keys = await api_keys_of(session, seen.officer.id)
    rows = [{"id": key.id, "label": key.label, "scope": key.scope, "prefix": key.prefix,
             "created": format_moment(key.created_at, seen.tz, year=True),
             "used": format_moment(key.last_used_at, seen.tz, year=True) if key.last_used_at else "—",
             "revoked": key.revoked_at is not None} for key in keys]
    return render("keys.html", seen.locale, viewer=seen, keys=rows, shown=shown, problem=problem,
                  public_url=services(request).settings.public_url)


_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


async def account_page(request: web.Request, seen: Viewer) -> web.StreamResponse:
    problem, saved, code = "", False, ""
    async with services(request).sessions.begin() as session:
        officer = await session.get_one(Officer, seen.officer.id)
        sub = await session.scalar(select(DigestSubscription).where(DigestSubscription.officer_id == officer.id))
        if request.method == "POST":
            form = await request.post()
            action = str(form.get("action", ""))
            if action == "profile":
                locale, zone = str(form.get("locale", "")), str(form.get("timezone", "")).strip()
                try:
                    ZoneInfo(zone)
                except (ZoneInfoNotFoundError, ValueError):
                    problem = _("“{zone}” is not a time zone I know (for example Europe/Rome).").format(zone=zone[:64])
                if locale in SUPPORTED_LOCALES and not problem:
                    officer.locale, officer.timezone, saved = locale, zone, True
                    seen.locale, seen.tz = locale, ZoneInfo(zone)
            elif action == "digest":
                frequency = str(form.get("frequency", ""))
                if frequency == "off":
                    if sub is not None:
                        await session.delete(sub)
                        sub = None
                    saved = True
                elif frequency in FREQUENCIES:
                    day = str(form.get("weekday", "monday"))
                    try:
                        hour, minute = parse_clock(str(form.get("time", "08:00")))
                    except UserError as exc:
                        problem = str(exc)
                    else:
                        sub = subscribe(session, sub, officer_id=officer.id, frequency=frequency,
                                        weekday=_DAYS.index(day) if day in _DAYS else 0, hour=hour, minute=minute,
                                        tz=seen.tz)
                        sub.when_empty = "line" if form.get("when_empty") == "line" else "skip"
                        sub.by_email = form.get("by_email") == "on"
                        saved = True
            elif action == "link":
                code = await identity_code(session, officer.id)
        digest = None if sub is None else {
            "frequency": sub.frequency, "weekday": _DAYS[sub.weekday], "time": f"{sub.hour:02d}:{sub.minute:02d}",
            "when_empty": sub.when_empty, "by_email": sub.by_email,
            "next": format_moment(sub.next_at, seen.tz, year=True)}
        email, timezone = officer.email, officer.timezone
    with using_locale(seen.locale):
        days = [(day, weekday_name(index)) for index, day in enumerate(_DAYS)]
    return render("account.html", seen.locale, viewer=seen, problem=problem, saved=saved, code=code, digest=digest,
                  email=email, timezone=timezone, days=days)


# --- the public directory -------------------------------------------------------------------------------


async def _join_links(request: web.Request, initiative: Initiative) -> list[tuple[str, str]]:
    """(network, url) ways to join: the bot's deep link, each Matrix room, the group's own invite link."""
    found = []
    telegram = services(request).adapters.get("telegram")
    payload = f"initiative-{join_payload(services(request).settings.secret, initiative.id)}"
    if telegram is not None and (url := telegram.deep_link(payload)):
        found.append(("Telegram", url))
    async with services(request).sessions() as session:
        rooms = list(await session.scalars(select(ChatLink.chat_id).where(
            ChatLink.initiative_id == initiative.id, ChatLink.platform == "matrix")))
    found += [("Matrix", f"https://matrix.to/#/{room}") for room in rooms]
    if initiative.join_url:
        found.append((_("Group invite"), initiative.join_url))
    return found


async def directory(request: web.Request) -> web.StreamResponse:
    settings = services(request).settings
    wanted = request.query.get("lang", "")
    locale = wanted if wanted in SUPPORTED_LOCALES else settings.default_locale
    async with services(request).sessions() as session:
        listed = list(await session.scalars(select(Initiative).where(Initiative.listed.is_(True))
                                            .order_by(Initiative.name)))
    with using_locale(locale):
        entries = [{"initiative": row, "phase": phase_label(row.phase), "links": await _join_links(request, row)}
                   for row in listed]
    return render("directory.html", locale, entries=entries, phases=PHASES, query=request.query)


async def qr_code(request: web.Request) -> web.StreamResponse:
    """A QR code of the initiative's first join link (for posters and flyers)."""
    async with services(request).sessions() as session:
        row = await session.get(Initiative, int(request.match_info["initiative"]))
    if row is None or not row.listed:
        raise web.HTTPNotFound()
    links = await _join_links(request, row)
    target = links[0][1] if links else f"{services(request).settings.public_url}/directory#initiative-{row.id}"
    buffer = io.BytesIO()
    segno.make(target, error="m").save(buffer, kind="png", scale=6, border=2)
    return web.Response(body=buffer.getvalue(), content_type="image/png")


def routes() -> list[web.RouteDef]:
    return [
        web.get("/dashboard/login", login_form),
        web.post("/dashboard/login", login),
        web.post("/dashboard/logout", logout),
        web.get("/dashboard/", officer_page(overview)),
        web.get("/dashboard", officer_page(overview)),
        web.get("/dashboard/initiatives/{initiative}", officer_page(initiative_page)),
        web.get("/dashboard/initiatives/{initiative}/files/{name}", officer_page(download)),
        web.get("/dashboard/keys", officer_page(keys_page)),
        web.post("/dashboard/keys", officer_page(keys_page)),
        web.get("/dashboard/account", officer_page(account_page)),
        web.post("/dashboard/account", officer_page(account_page)),
        web.get("/directory", directory),
        web.get("/directory/{initiative:\\d+}/qr.png", qr_code),
    ]


__all__ = ["routes"]
