"""The Interlinker base class and the decorators that declare what one offers.

An Interlinker is one folder: a subclass of ``Interlinker`` with INTERLINK catalogue metadata, commands,
button handlers, dialogs and scheduled jobs declared by decorators (collected by scanning the class), its
own tables on ``storage.Base`` and its own Alembic ``migrations/``. It is found through the
``interlink.interlinkers`` entry-point group, so a third party ships one as an ordinary package.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Concatenate, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.roles import Role

if TYPE_CHECKING:
    from aiohttp import web
    from sqlalchemy import Select

    from bot.config import Settings
    from bot.context import Context
    from bot.panels import Export, Filter, Panel, Scope
    from bot.services import Services
    from storage.deliveries import Destination

ENTRY_POINT_GROUP = "interlink.interlinkers"
# What each decorator accepts: the first parameter is the Interlinker (``self``), the second the Context.
CommandHandler = Callable[[Any, "Context", str], Awaitable[None]]
ButtonHandler = Callable[Concatenate[Any, "Context", ...], Awaitable[None]]
DialogHandler = Callable[[Any, "Context", str, str, dict[str, Any]], Awaitable[None]]
JobHandler = Callable[Concatenate[Any, "Context", ...], Awaitable[None]]
C = TypeVar("C", bound=CommandHandler)
B = TypeVar("B", bound=ButtonHandler)
D = TypeVar("D", bound=DialogHandler)
J = TypeVar("J", bound=JobHandler)


@dataclass(frozen=True, slots=True)
class Catalogue:
    """INTERLINK catalogue metadata. ``title`` and ``description`` are marked with ``N_`` and translated
    when shown. Problem profiles use INTERLINK's codes (e.g. ORG_PROBLEM_11 consensus)."""

    title: str
    description: str
    problem_profiles: tuple[str, ...] = ()
    targets: tuple[str, ...] = ("citizens",)
    licence: str = "EUPL-1.2"
    difficulty: str = "easy"
    administrative_scope: str = "local"


@dataclass(frozen=True, slots=True)
class SettingSpec:
    """A setting organisers change with ``/settings <name> <value>``. ``name`` is what they type (one
    word, English, like command names); ``help`` is ``N_``-marked; ``parse`` turns what they typed into
    the stored value or raises ``UserError``; ``describe`` says a stored value in the reader's words.
    A ``personal`` setting is each person's, changed by them in their private chat with the bot. A
    setting that ``governs`` says who may decide (who may start polls): its changes go in the ledger."""

    name: str
    help: str
    default: str
    parse: Callable[[str], str]
    describe: Callable[[str], str]
    personal: bool = False  # each person's own (set in a private chat), not the group's
    governs: bool = False  # it changes who may decide: recorded in the initiative's ledger


@dataclass(slots=True)
class LedgerCheck:
    """What an Interlinker's ``check_ledger`` found: one line per problem, and what it checked (for the
    verifier's summary, e.g. "3 polls recounted")."""

    problems: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CliCommand:
    """An ``interlink <name> ...`` subcommand an Interlinker adds (e.g. exporting its records).
    ``arguments`` adds its arguments to the subparser; ``run`` gets a session factory for the bot's
    store (migrated) and the parsed arguments (``args.settings`` holds the loaded ``Settings``), and
    returns what to print."""

    name: str
    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[async_sessionmaker[AsyncSession], argparse.Namespace], Awaitable[str]]


@dataclass(frozen=True, slots=True)
class CommandSpec:
    name: str
    help: str
    usage: str
    role: Role
    handler: str
    owner: str = ""
    aliases: tuple[str, ...] = field(default=())


def command(
    name: str, *, help: str, usage: str = "", role: Role = Role.MEMBER, aliases: tuple[str, ...] = ()
) -> Callable[[C], C]:
    """Declare ``/name``. The core checks ``role`` before the handler runs; ``help`` and ``usage`` are
    ``N_``-marked strings shown by /help in the user's language. Handler: ``(self, ctx, args: str)``."""

    def mark(fn: C) -> C:
        fn.__interlink_command__ = CommandSpec(name, help, usage, role, fn.__name__, aliases=aliases)  # type: ignore[attr-defined]
        return fn

    return mark


def button(kind: str) -> Callable[[B], B]:
    """Handle a pressed button whose signed payload names ``kind``. Handler: ``(self, ctx, *args: str)``."""

    def mark(fn: B) -> B:
        fn.__interlink_button__ = kind  # type: ignore[attr-defined]
        return fn

    return mark


def dialog(name: str) -> Callable[[D], D]:
    """Handle the next message of a user inside dialog ``name``. Handler: ``(self, ctx, text, step, data)``."""

    def mark(fn: D) -> D:
        fn.__interlink_dialog__ = name  # type: ignore[attr-defined]
        return fn

    return mark


def job(name: str) -> Callable[[J], J]:
    """A scheduled job, run in a fresh transaction. Handler: ``(self, ctx, **params)``; params must be
    plain JSON-able values, because jobs are persisted and survive restarts."""

    def mark(fn: J) -> J:
        fn.__interlink_job__ = name  # type: ignore[attr-defined]
        return fn

    return mark


class Interlinker:
    """Base class. Subclasses set ``name`` (short, used in payloads and job ids) and ``catalogue``."""

    name: ClassVar[str]
    catalogue: ClassVar[Catalogue]
    migrations: ClassVar[Path | None] = None
    settings: ClassVar[tuple[SettingSpec, ...]] = ()
    cli: ClassVar[tuple[CliCommand, ...]] = ()
    commands: ClassVar[dict[str, CommandSpec]]
    buttons: ClassVar[dict[str, str]]
    dialogs: ClassVar[dict[str, str]]
    jobs: ClassVar[dict[str, str]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.commands, cls.buttons, cls.dialogs, cls.jobs = {}, {}, {}, {}
        for klass in reversed(cls.__mro__):
            for attr, value in vars(klass).items():
                spec = getattr(value, "__interlink_command__", None)
                if spec is not None:
                    cls.commands[spec.name] = CommandSpec(
                        spec.name, spec.help, spec.usage, spec.role, attr, cls.__name__, spec.aliases
                    )
                if (kind := getattr(value, "__interlink_button__", None)) is not None:
                    cls.buttons[kind] = attr
                if (name := getattr(value, "__interlink_dialog__", None)) is not None:
                    cls.dialogs[name] = attr
                if (name := getattr(value, "__interlink_job__", None)) is not None:
                    cls.jobs[name] = attr

    def __init__(self, services: Services) -> None:
        self.services = services

    @classmethod
    def check_config(cls, settings: Settings) -> None:
        """Read this Interlinker's own ``interlink.toml`` keys from ``settings.source`` and raise
        ``ConfigError`` (one line naming the key) on a bad one. Called at start, before unknown keys are
        reported, so its keys count as known."""

    def destinations(self) -> dict[str, Destination]:
        """Systems outside this Interlinker delivers to (``Context.deliver``), by name: sent with retries,
        outside any transaction, once (see ``storage.deliveries``)."""
        return {}

    def routes(self) -> list[web.RouteDef]:
        """HTTP routes this Interlinker serves on the shared server (a calendar feed, an API), added
        before it starts. Handlers reach the store through ``self.services``."""
        return []

    async def start(self) -> None:
        """Called once the store is migrated and jobs run: reconcile, warm caches."""

    async def stop(self) -> None:
        """Called at shutdown, before the store closes."""

    async def on_start(self, ctx: Any, payload: str) -> None:
        """``/start <name>-<payload>`` in a private chat (a deep link from ``Context.link_button``)
        whose prefix is this Interlinker's name: continue what the link was made for."""

    async def on_native_poll_answer(self, ctx: Any, key: str, payloads: tuple[str, ...]) -> None:
        """A vote from a network's own poll UI; Interlinkers that send ``PollSpec``s override this."""

    async def describe_user_data(self, session: AsyncSession, user_id: int) -> list[str]:
        """Lines for /mydata: what this Interlinker keeps about the user, in the current language."""
        return []

    async def forget_user(self, session: AsyncSession, user_id: int) -> None:
        """/forgetme: remove or unlink everything that identifies the user, keeping anonymous counts."""

    # --- the PA side (see bot.panels): what officers see of this Interlinker, never by name in the core ---

    def activity(self) -> list[Select[Any]]:
        """SELECTs of (initiative id, person key, time) for each thing someone did here (voted, signed
        up, reported), with the person as ``bot.panels.person_key``: the dashboard's participation."""
        return []

    def dashboard_filters(self) -> list[Filter]:
        """Choices this Interlinker adds to the dashboard's filter bar (read back in ``Scope.filters``)."""
        return []

    async def panels(self, session: AsyncSession, scope: Scope) -> list[Panel]:
        """This Interlinker's panels on the dashboard, in the current language and ``scope.tz``."""
        return []

    async def digest(self, session: AsyncSession, scope: Scope) -> list[str]:
        """Lines for a digest of ``scope``'s period (new, open, upcoming, overdue), in the current language;
        none when nothing happened."""
        return []

    async def exports(self, session: AsyncSession, initiative_id: int) -> list[Export]:
        """Files an officer may download for an initiative, people named only by pseudonyms."""
        return []

    # --- the ledger (see bot.ledger_verify): evidence behind this Interlinker's entries, and its checks ---

    async def ledger_evidence(self, session: AsyncSession, initiative_id: int) -> dict[str, bytes]:
        """Files for an initiative's verification bundle that let anyone recheck this Interlinker's ledger
        entries (a closed poll's anonymised ballots), by path inside the bundle; no one named in them."""
        return {}

    @classmethod
    def check_ledger(cls, entries: Sequence[dict[str, Any]], files: Mapping[str, bytes]) -> LedgerCheck:
        """Recheck this Interlinker's ``entries`` (the ledger's, parsed, in order) against the evidence in
        ``files``, without any store: one line per problem, and what was checked. Pure, so a bundle is
        verified on a machine with nothing but this package."""
        return LedgerCheck()

    @classmethod
    def find_receipt(cls, receipt: str, files: Mapping[str, bytes]) -> list[str]:
        """Where ``receipt`` (something a person was given, like a ballot's) appears in the evidence."""
        return []

    @classmethod
    def describe_outcome(cls, kind: str, result: dict[str, Any], tz: ZoneInfo) -> Described | None:
        """For the PA's summaries, in the current language: a heading (with ``{initiative}`` and ``{when}``,
        the moment it was recorded) and lines of facts for an outcome ``kind`` this Interlinker records;
        None for the kinds it does not."""
        return None


@dataclass(frozen=True, slots=True)
class Described:
    """An outcome as the PA's text summary shows it (``Interlinker.describe_outcome``)."""

    heading: str
    facts: list[str]


def discover() -> list[type[Interlinker]]:
    """Every installed Interlinker, in a stable order."""
    found: list[type[Interlinker]] = []
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        cls = ep.load()
        if not (isinstance(cls, type) and issubclass(cls, Interlinker)):
            raise TypeError(f"entry point {ep.name!r} is not an Interlinker subclass")
        found.append(cls)
    return found
