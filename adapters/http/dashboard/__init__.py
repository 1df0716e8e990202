"""The PA officers' dashboard (server-rendered, no script, no CDN) and the public directory of initiatives."""

from pathlib import Path

from aiohttp import web

from adapters.http.dashboard._pages import routes as _page_routes
from adapters.http.dashboard._web import SERVICES

STATIC = Path(__file__).parent / "static"


def routes() -> list[web.AbstractRouteDef]:
    return [*_page_routes(), web.static("/dashboard/static", STATIC)]


__all__ = ["SERVICES", "routes"]
