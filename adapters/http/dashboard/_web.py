"""What every dashboard page shares: templates, the officer of the request, their language and zone, and
the date filters.

Templates are Jinja2 with autoescape on (officers read what citizens typed) and the core's ``_`` /
``ngettext``, so the page speaks the officer's language (or ``?lang=``); times are in the officer's zone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from aiohttp import web

from bot.i18n import SUPPORTED_LOCALES, _, format_long_date, language_name, ngettext, using_locale
from bot.officers import csrf_ok, csrf_token, session_officer
from bot.panels import Export
from bot.services import Services
from storage.models import Officer

COOKIE = "interlink_session"
SERVICES = web.AppKey("services", Services)
_ENV = jinja2.Environment(loader=jinja2.PackageLoader("adapters.http.dashboard", "templates"),
                          autoescape=True, trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
_ENV.globals.update(_=_, ngettext=ngettext, language_name=language_name, locales=SUPPORTED_LOCALES)
DEFAULT_WEEKS = 12  # back from today
AHEAD_DAYS = 28  # and forward: events and shifts coming up are part of what an officer checks


@dataclass
class Viewer:
    """The officer behind a request, with what the page needs to speak to them."""

    officer: Officer
    session_token: str
    locale: str
    tz: ZoneInfo
    csrf: str


def services(request: web.Request) -> Services:
    return request.app[SERVICES]


async def viewer(request: web.Request) -> Viewer | None:
    token = request.cookies.get(COOKIE, "")
    if not token:
        return None
    async with services(request).sessions() as session:
        officer = await session_officer(session, token)
    if officer is None:
        return None
    wanted = request.query.get("lang", "")
    locale = wanted if wanted in SUPPORTED_LOCALES else officer.locale
    return Viewer(officer, token, locale, ZoneInfo(officer.timezone),
                  csrf_token(services(request).settings.secret, token))


Page = Callable[[web.Request, Viewer], Awaitable[web.StreamResponse]]


def officer_page(page: Page) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A page for a logged-in officer: others are sent to the page explaining how to log in. A POST must
    carry the session's CSRF token."""

    async def handle(request: web.Request) -> web.StreamResponse:
        found = await viewer(request)
        if found is None:
            raise web.HTTPSeeOther("/dashboard/login")
        if request.method == "POST":
            form = await request.post()
            if not csrf_ok(services(request).settings.secret, found.session_token, str(form.get("csrf", ""))):
                raise web.HTTPForbidden(text="This form has expired: reload the page and try again.")
        with using_locale(found.locale):
            return await page(request, found)

    return handle


def attachment(export: Export) -> web.Response:
    """A download: the file's bytes, type and name."""
    return web.Response(body=export.content, headers={
        "Content-Type": export.media_type, "Content-Disposition": f'attachment; filename="{export.filename}"'})


def render(template: str, locale: str, status: int = 200, **values: Any) -> web.Response:
    """A page in ``locale`` (``values`` go to the template; a ``viewer`` gets the header's menu)."""
    with using_locale(locale):
        html = _ENV.get_template(template).render(locale=locale, **values)
    response = web.Response(text=html, content_type="text/html", status=status)
    response.headers["Content-Security-Policy"] = ("default-src 'none'; style-src 'self'; img-src 'self' data:; "
                                                   "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@dataclass(frozen=True)
class Period:
    """The dates an officer filters by, in their zone: from ``first`` to ``last`` inclusive."""

    first: date
    last: date
    tz: ZoneInfo
    problem: str = ""

    @property
    def since(self) -> datetime:
        return datetime.combine(self.first, time(0), self.tz).astimezone(UTC)

    @property
    def until(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(0), self.tz).astimezone(UTC)

    def label(self) -> str:
        return _("{first} to {last}").format(first=format_long_date(self.first), last=format_long_date(self.last))


def period(request: web.Request, tz: ZoneInfo) -> Period:
    """``?from=YYYY-MM-DD&to=YYYY-MM-DD``; by default the last twelve weeks and the next four. A wrong date
    is named, and the default used instead."""
    today = datetime.now(tz).date()
    first, last = today - timedelta(weeks=DEFAULT_WEEKS) + timedelta(days=1), today + timedelta(days=AHEAD_DAYS)
    problem = ""
    try:
        if request.query.get("from"):
            first = date.fromisoformat(request.query["from"])
        if request.query.get("to"):
            last = date.fromisoformat(request.query["to"])
    except ValueError:
        problem = _("A date was not understood (write it as 2026-11-24); showing the last twelve weeks and the "
                    "next four.")
        first, last = today - timedelta(weeks=DEFAULT_WEEKS) + timedelta(days=1), today + timedelta(days=AHEAD_DAYS)
    if first > last:
        problem = _("The first date is after the last one; they were swapped.")
        first, last = last, first
    if (last - first).days > 3 * 366:
        problem = _("At most three years at a time; the first date was moved.")
        first = last - timedelta(days=3 * 366)
    return Period(first, last, tz, problem)


__all__ = ["COOKIE", "SERVICES", "Period", "Viewer", "attachment", "officer_page", "period", "render", "services",
           "viewer"]
