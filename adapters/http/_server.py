"""aiohttp server for PA officers and PA systems: the dashboard, the public directory, ``/api/v1`` and the
health check (chat webhooks and Interlinkers add their own routes)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import async_sessionmaker

from adapters.http import api, dashboard
from bot.services import Services
from storage.models import DeadLetter
from storage.sql import unreachable

log = logging.getLogger(__name__)
PA_SESSIONS = web.AppKey("pa_sessions", async_sessionmaker)
SESSIONS = web.AppKey("sessions", async_sessionmaker)


async def healthz(request: web.Request) -> web.Response:
    """200 when the stores answer, 503 otherwise, so a load balancer can take a broken worker out. Also
    counts the dead letters (updates and jobs that failed for good and wait for an operator)."""
    try:
        async with request.app[PA_SESSIONS]() as session:
            await session.execute(text("SELECT 1"))
        async with request.app[SESSIONS]() as session:
            dead = int(await session.scalar(select(func.count()).select_from(DeadLetter)) or 0)
    except Exception as exc:
        return web.json_response({"status": "unavailable", "error": type(exc).__name__}, status=503)
    return web.json_response({"status": "ok", "dead_letters": dead})


@web.middleware
async def _store_down(request: web.Request,
                      handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    """A store that cannot be reached is a 503 saying so (JSON for the API), never a traceback."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception as exc:
        if not unreachable(exc):
            raise
        log.warning("store unavailable for %s: %s", request.path, exc)
        if request.path.startswith("/api/"):
            return web.json_response({"error": {"code": "unavailable", "message": "store unavailable, try again"}},
                                     status=503, headers={"Retry-After": "5"})
        return web.Response(status=503, text="The service is unavailable for a moment; try again shortly.",
                            headers={"Retry-After": "5"})


class HttpServer:
    def __init__(self, services: Services, app: web.Application) -> None:
        settings = services.settings
        self.settings = settings
        self.app = app
        app[PA_SESSIONS] = services.pa_sessions
        app[SESSIONS] = services.sessions
        app[dashboard.SERVICES] = services
        app[api.LIMITER] = api.RateLimiter(settings.source.int("api_requests_per_minute", 120, minimum=1))
        app.middlewares.append(_store_down)
        app.router.add_get("/healthz", healthz)
        app.add_routes(dashboard.routes())
        app.add_routes(api.routes())
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.http_host, self.settings.http_port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else self.settings.http_port
        log.info("HTTP server on http://%s:%s", self.settings.http_host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
