"""aiohttp server for PA officers and PA systems (and for chat webhooks, which add their own routes)."""

from __future__ import annotations

import logging

from aiohttp import web
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from storage.models import DeadLetter
from storage.outbox import read_outcomes

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


async def outcomes(request: web.Request) -> web.Response:
    initiative = request.query.get("initiative") or None
    try:
        documents = await read_outcomes(request.app[PA_SESSIONS], initiative)
    except Exception:
        log.exception("PA store unavailable")
        return web.json_response({"error": "store unavailable"}, status=503)
    return web.json_response(documents)


class HttpServer:
    def __init__(self, settings: Settings, app: web.Application, pa_sessions: async_sessionmaker[AsyncSession],
                 sessions: async_sessionmaker[AsyncSession]) -> None:
        self.settings = settings
        self.app = app
        app[PA_SESSIONS] = pa_sessions
        app[SESSIONS] = sessions
        app.router.add_get("/healthz", healthz)
        app.router.add_get("/api/v1/outcomes", outcomes)
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
