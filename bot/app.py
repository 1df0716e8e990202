"""The application: wires store, jobs, sender, outbox, Interlinkers, HTTP server and adapters together."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from importlib.metadata import entry_points
from pathlib import Path
from typing import IO, Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.adapter import Adapter, HandleResult
from bot.builtin import CoreCommands
from bot.buttons import Signer
from bot.config import ConfigError, Settings
from bot.context import Context
from bot.digests import DigestWorker
from bot.dispatcher import Dispatcher
from bot.events import ChatRef, Update
from bot.group_settings import GroupSettings
from bot.i18n import _, check_catalogs, using_locale
from bot.identity import InitiativeInfo
from bot.initiatives import Initiatives
from bot.interlinker import Interlinker, discover
from bot.jobs import JobQueue
from bot.ledger import CheckpointWorker, LedgerKey
from bot.linking import ChatLinking
from bot.roles import Role
from bot.sender import JOB_LANE, Sender, stage
from bot.services import Services
from storage.deliveries import DeliveryWorker, Destination
from storage.engine import create_engine, session_factory
from storage.leases import Leases, claim_sqlite
from storage.migrate import upgrade
from storage.models import ChatLink, Initiative, Job
from storage.outbox import OutboxWorker
from storage.state import AdapterState

log = logging.getLogger(__name__)
ADAPTER_GROUP = "interlink.adapters"
# The core's own commands, written as Interlinkers so they go through the same pipeline and checks.
CORE_INTERLINKERS: tuple[type[Interlinker], ...] = (CoreCommands, GroupSettings, ChatLinking, Initiatives)


def every_interlinker() -> list[type[Interlinker]]:
    """The core's and every installed Interlinker (for their settings and CLI commands)."""
    return [*CORE_INTERLINKERS, *discover()]


def configured_adapters(settings: Settings) -> list[Adapter]:
    """Every installed adapter whose settings are present.

    An entry point names a factory, settings → adapter or None, that reads its settings before importing its
    network's library (``adapters.telegram.from_settings``), so a network that is not configured costs no
    start-up time and no memory; an ``Adapter`` class is accepted too (its ``from_settings``).
    """
    found: list[Adapter] = []
    for ep in sorted(entry_points(group=ADAPTER_GROUP), key=lambda e: e.name):
        try:
            loaded = ep.load()
        except ImportError as exc:
            log.debug("adapter %s not installed: %s", ep.name, exc)
            continue
        factory: Callable[[Settings], Adapter | None] = (
            loaded.from_settings if isinstance(loaded, type) and issubclass(loaded, Adapter) else loaded
        )
        try:
            adapter = factory(settings)
        except ImportError as exc:  # configured, but its library is not installed: never start without it
            raise ConfigError(f"{ep.name} is configured, but {exc}") from exc
        if adapter is not None:
            found.append(adapter)
    return found


class App:
    """Implements ``bot.adapter.CoreAPI`` for the adapters."""

    def __init__(
        self,
        settings: Settings,
        adapters: list[Adapter] | None = None,
        interlinkers: list[type[Interlinker]] | None = None,
        http: bool = True,
    ) -> None:
        self.settings = settings
        self._adapters = list(adapters or [])
        self._interlinker_classes = interlinkers
        self._with_http = http
        self.engine = create_engine(settings.database_url)
        self.sessions = session_factory(self.engine)
        self.pa_engine = (
            self.engine if settings.pa_database_url == settings.database_url
            else create_engine(settings.pa_database_url)
        )
        self.pa_sessions = session_factory(self.pa_engine)
        self.state = AdapterState(self.sessions)
        self.leases = Leases(self.engine)
        adapters_by_platform: dict[str, Adapter] = {}
        self.services = Services(
            settings=settings,
            sessions=self.sessions,
            pa_sessions=self.pa_sessions,
            signer=Signer(settings.secret),
            jobs=JobQueue(self.sessions, self._run_job),
            outbox=OutboxWorker(self.sessions, self.pa_sessions, prepare=self.migrate_pa_store),
            leases=self.leases,
            sender=Sender(self.sessions, self.leases, adapters_by_platform),
            deliveries=DeliveryWorker(self.sessions, self._destination),
            ledger_key=LedgerKey.from_settings(settings),
            adapters=adapters_by_platform,
        )
        self._destinations: dict[tuple[str, str], Destination] = {}
        self._sqlite_claim: IO[str] | None = None
        self.dispatcher = Dispatcher(self.services)
        self.services.dispatcher = self.dispatcher
        self._web_app = web.Application()
        self.http_server: Any = None
        self._started: list[Adapter] = []
        self.digests: DigestWorker | None = None
        minutes = settings.source.int("ledger_checkpoint_minutes", 60, minimum=1)
        self.checkpoints = CheckpointWorker(self.sessions, self.services.ledger_key, minutes * 60.0)

    # --- CoreAPI -----------------------------------------------------------------------------------

    async def handle(self, update: Update) -> HandleResult:
        return await self.dispatcher.handle(update)

    def web_app(self) -> web.Application:
        return self._web_app

    def command_menu(self, locale: str) -> list[tuple[str, str]]:
        """Commands every member may use, with their help in ``locale``: for a network's command menu."""
        with using_locale(locale):
            specs = sorted((spec for _owner, spec in self.dispatcher.visible_commands(Role.MEMBER)),
                           key=lambda spec: spec.name)
            return [(spec.name, _(spec.help)) for spec in specs]

    # --- lifecycle ---------------------------------------------------------------------------------

    @property
    def adapters(self) -> list[Adapter]:
        return list(self._adapters)

    def interlinker_classes(self) -> list[type[Interlinker]]:
        return self._interlinker_classes if self._interlinker_classes is not None else discover()

    def _migration_dirs(self) -> list[Path]:
        return [cls.migrations for cls in self.interlinker_classes() if cls.migrations is not None]

    async def migrate(self) -> None:
        await upgrade(self.settings.database_url, self._migration_dirs(), engine=self.engine)

    async def migrate_pa_store(self) -> None:
        """A separate PA database gets the same schema; done before the first delivery, so a PA
        database that is down at start delays outcomes instead of stopping the bot."""
        if self.pa_engine is not self.engine:
            await upgrade(self.settings.pa_database_url, self._migration_dirs(), engine=self.pa_engine)

    async def start(self) -> None:
        check_catalogs()
        self.settings.check_shared_secret()
        if self.engine.dialect.name == "sqlite" and self.engine.url.database not in (None, "", ":memory:"):
            self._sqlite_claim = claim_sqlite(str(self.engine.url.database))
        await self.migrate()
        self.register_interlinkers()
        self.services.jobs.start()
        self.services.outbox.start()
        self.services.deliveries.start()
        # E-mail goes out only where SMTP is configured: then the e-mail destination was registered.
        self.digests = DigestWorker(self.services, email=self._destination(Initiatives.name, "email") is not None)
        self.digests.start()
        self.checkpoints.start()
        for interlinker in self.services.interlinkers.values():
            await interlinker.start()
        for adapter in self._adapters:
            self.services.adapters[adapter.platform] = adapter
        if self._with_http:
            from adapters.http import HttpServer

            for interlinker in self.services.interlinkers.values():
                self._web_app.add_routes(interlinker.routes())
            self.http_server = HttpServer(self.services, self._web_app)
        for adapter in self._adapters:
            await adapter.start(self)
            self._started.append(adapter)
        self.services.sender.start()  # sends what earlier runs (or other workers) left, then the new
        if self.http_server is not None:
            await self.http_server.start()

    def register_interlinkers(self) -> None:
        """Make every Interlinker's commands known, without starting anything (the CLI's replays)."""
        classes: list[type[Interlinker]] = [*CORE_INTERLINKERS, *self.interlinker_classes()]
        for cls in classes:
            instance = cls(self.services)
            self.services.interlinkers[cls.name] = instance
            self.dispatcher.register(instance)
            for name, destination in instance.destinations().items():
                self._destinations[cls.name, name] = destination

    def _destination(self, interlinker: str, name: str) -> Destination | None:
        return self._destinations.get((interlinker, name))

    async def hold(self, lease: str, body: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run ``body`` while this worker holds ``lease`` (see ``storage.leases``)."""
        await self.leases.run_while_held(lease, body)

    async def close_stores(self) -> None:
        """Close the store's connections (and the PA store's, when it is another database)."""
        await self.engine.dispose()
        if self.pa_engine is not self.engine:
            await self.pa_engine.dispose()

    async def stop(self) -> None:
        for adapter in reversed(self._started):
            try:
                await adapter.stop_receiving()
            except Exception:
                log.exception("adapter %s did not stop receiving cleanly", adapter.platform)
        await self.services.sender.stop()
        for adapter in reversed(self._started):
            try:
                await adapter.stop()
            except Exception:
                log.exception("adapter %s did not stop cleanly", adapter.platform)
        self._started.clear()
        if self.http_server is not None:
            await self.http_server.stop()
        for interlinker in self.services.interlinkers.values():
            await interlinker.stop()
        await self.services.jobs.stop()
        await self.services.outbox.stop()
        await self.services.deliveries.stop()
        if self.digests is not None:
            await self.digests.stop()
        await self.checkpoints.stop()
        await self.close_stores()
        if self._sqlite_claim is not None:
            self._sqlite_claim.close()
            self._sqlite_claim = None

    # --- jobs --------------------------------------------------------------------------------------

    async def _run_job(self, session: AsyncSession, job: Job) -> Callable[[], Awaitable[None]] | None:
        """Run a claimed job inside its claiming transaction, speaking the initiative's language in its
        chat; its messages are kept in the same transaction. Returns what to do after commit."""
        interlinker = self.services.interlinkers.get(job.interlinker)
        method = type(interlinker).jobs.get(job.job) if interlinker else None
        if interlinker is None or method is None:
            raise LookupError(f"no job {job.interlinker}.{job.job} in this installation")
        link = await session.get(ChatLink, (job.platform, job.chat_id))
        if link is None:
            return None
        row = await session.get_one(Initiative, link.initiative_id)
        initiative = InitiativeInfo(row.id, row.name, row.timezone, row.locale)
        chat = ChatRef(job.platform, job.chat_id, job.thread_id, title=link.title)
        ctx = Context(self.services, session, chat, initiative, role=Role.ORGANISER)
        # Unique per run, even when a recurring job's row gets the id its previous run had (SQLite).
        origin = f"job:{job.key}:{job.id}:{job.run_at.timestamp():.0f}"
        with using_locale(initiative.locale):
            await getattr(interlinker, method)(ctx, **job.params)
        await stage(session, chat, ctx.outgoing, origin, JOB_LANE)
        await self.services.stage_directs(session, origin, ctx.directs)

        async def after() -> None:
            for action in ctx.after_commit:
                await action()
            with using_locale(initiative.locale):  # adapters may add words of their own (hints)
                await self.services.deliver(chat, ctx.outgoing, origin=origin)
            await self.services.deliver_directs(origin, ctx.directs)

        return after
