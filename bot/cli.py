"""The ``interlink`` command: run, console, serve, db upgrade, dead-letters, summary."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from bot import ledger_cli
from bot.adapter import Adapter
from bot.app import App, configured_adapters, every_interlinker
from bot.config import ConfigError, Settings, check_log_level, load_settings
from bot.deadletters import list_letters, replay
from bot.errors import UserError
from bot.i18n import SUPPORTED_LOCALES, MissingCatalogError, using_locale
from bot.interlinker import CliCommand
from bot.summary import FORMATS, render
from storage.engine import create_engine, session_factory
from storage.leases import DatabaseInUse
from storage.outbox import OutboxWorker, read_outcomes

log = logging.getLogger("interlink")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="interlink", description="Interlinkers as conversation.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")

    command("run", "start every configured chat adapter (the console if none) and the HTTP server")
    console = command("console", "chat with the bot in this terminal (or through a pipe)")
    console.add_argument("--http", action="store_true", help="also start the HTTP server")
    command("serve", "only the PA-facing HTTP server, outbox and jobs")
    db = command("db", "database maintenance")
    db.add_argument("action", choices=["upgrade"])
    letters = command("dead-letters", "updates and jobs that failed for good: list or replay them")
    letters.add_argument("action", choices=["list", "replay"])
    letters.add_argument("ids", nargs="*", type=int, help="which to replay (default with replay: all)")
    summary = command("summary", "print the outcomes the PA side has received")
    summary.add_argument("--initiative", help="only this initiative (its name)")
    summary.add_argument("--format", choices=FORMATS, default="text")
    summary.add_argument("--locale", choices=SUPPORTED_LOCALES, help="language of the text format")
    ledger_cli.add_commands(command)
    for spec in _interlinker_commands().values():
        spec.arguments(command(spec.name, spec.help))
    return parser


def _interlinker_commands() -> dict[str, CliCommand]:
    """Subcommands the installed Interlinkers add (the core names none of them)."""
    return {spec.name: spec for cls in every_interlinker() for spec in cls.cli}


async def _interlinker_command(settings: Settings, spec: CliCommand, args: argparse.Namespace) -> str:
    await _upgrade(settings)
    engine = create_engine(settings.database_url)
    try:
        args.settings = settings
        return await spec.run(session_factory(engine), args)
    finally:
        await engine.dispose()


def _version() -> str:
    try:
        return metadata.version("interlink-bot")
    except metadata.PackageNotFoundError:
        return "(not installed)"


async def _serve(settings: Settings, adapters: list[Adapter], http: bool) -> None:
    app = App(settings, adapters=adapters, http=http)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await app.start()
    except OSError as exc:  # the HTTP port is taken, or the host is not this machine's
        await app.stop()
        raise ConfigError(f"INTERLINK_HTTP_PORT {settings.http_port} on INTERLINK_HTTP_HOST {settings.http_host} "
                          f"cannot be used: {exc.strerror or exc}") from None
    waiters: list[asyncio.Future[Any]] = [asyncio.ensure_future(stop.wait())]
    if adapters:
        waiters.append(asyncio.ensure_future(asyncio.gather(*(a.wait_closed() for a in adapters))))
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
        await app.stop()


async def _upgrade(settings: Settings) -> None:
    app = App(settings, http=False)
    try:
        await app.migrate()
        await app.migrate_pa_store()
    finally:
        await app.close_stores()


async def _dead_letters(settings: Settings, action: str, ids: list[int]) -> str:
    app = App(settings, http=False)
    try:
        await app.migrate()
        letters = await list_letters(app.sessions)
        if action == "list":
            if not letters:
                return "no dead letters"
            return "\n".join(
                f"{letter.id}\t{letter.kind}\t{letter.failed_at:%Y-%m-%d %H:%M:%S}\t{letter.origin}\t{letter.summary}"
                for letter in letters
            )
        app.register_interlinkers()
        lines = []
        for letter_id in ids or [letter.id for letter in letters]:
            done = await replay(app.sessions, app.dispatcher, letter_id)
            lines.append(f"{letter_id}: {'replayed' if done else 'not found'}")
        left = len(await list_letters(app.sessions))
        lines.append(f"{left} dead letter(s) left")
        return "\n".join(lines)
    finally:
        await app.close_stores()


def _check_databases_exist(settings: Settings) -> None:
    """A summary reads what the bot recorded: a missing SQLite file means the wrong directory, not an
    empty record (and must not be created)."""
    for url in {settings.database_url, settings.pa_database_url}:
        database = make_url(url).database if url.startswith("sqlite") else None
        if database and database != ":memory:" and not Path(database).exists():
            raise ConfigError(f"no database at {database}: run this where the bot runs, or set "
                              "INTERLINK_DATABASE_URL (and INTERLINK_PA_DATABASE_URL if the PA store is apart)")


async def _summary(settings: Settings, initiative: str | None, fmt: str, locale: str) -> str:
    await _upgrade(settings)
    engine = create_engine(settings.database_url)
    pa_engine = engine if settings.pa_database_url == settings.database_url else create_engine(settings.pa_database_url)
    try:
        sessions, pa_sessions = session_factory(engine), session_factory(pa_engine)
        with contextlib.suppress(Exception):
            await OutboxWorker(sessions, pa_sessions).deliver_due()
        outcomes = await read_outcomes(pa_sessions, initiative)
        with using_locale(locale):
            return render(outcomes, fmt, settings.tz)
    finally:
        await engine.dispose()
        if pa_engine is not engine:
            await pa_engine.dispose()


def _check_interlinker_config(settings: Settings) -> None:
    for cls in every_interlinker():
        cls.check_config(settings)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        quiet = args.command in ("console", "summary", "verify", "ledger")
        level = os.environ.get("INTERLINK_LOG_LEVEL", "WARNING" if quiet else "INFO")
        logging.basicConfig(level=check_log_level(level), stream=sys.stderr,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        # A PA officer's summary must not leave a database or a secret behind where there was none.
        # A bundle is verified with nothing of the instance; its ledger key comes from the kept secret.
        persist = args.command in ("run", "console", "serve", "db", "dead-letters", "officers", "ledger") or (
            args.command == "verify" and args.bundle is None)
        settings = load_settings(persist_secret=persist)
        if args.command == "run":
            adapters = configured_adapters(settings)
            _check_interlinker_config(settings)
            settings.source.check_unknown()
            if not adapters:
                from adapters.console import ConsoleAdapter

                log.info("no chat network configured: starting the console adapter")
                if "INTERLINK_LOG_LEVEL" not in os.environ:
                    logging.getLogger().setLevel(logging.WARNING)  # keep the terminal for the chat
                adapters = [ConsoleAdapter()]
            asyncio.run(_serve(settings, adapters, http=True))
        elif args.command == "console":
            from adapters.console import ConsoleAdapter

            configured_adapters(settings)  # reads every adapter's keys, so a misspelt one is named
            _check_interlinker_config(settings)
            settings.source.check_unknown()
            asyncio.run(_serve(settings, [ConsoleAdapter()], http=args.http))
        elif args.command == "serve":
            asyncio.run(_serve(settings, [], http=True))
        elif args.command == "db":
            asyncio.run(_upgrade(settings))
            print("database is up to date")
        elif args.command == "dead-letters":
            print(asyncio.run(_dead_letters(settings, args.action, args.ids)))
        elif args.command == "verify":
            if args.bundle is None:
                _check_databases_exist(settings)
            return asyncio.run(ledger_cli.run_verify(settings, args))
        elif args.command == "ledger":
            _check_databases_exist(settings)
            print(asyncio.run(ledger_cli.run_ledger(settings, args)))
        elif args.command == "summary":
            _check_databases_exist(settings)
            locale = args.locale or settings.default_locale
            output = asyncio.run(_summary(settings, args.initiative, args.format, locale))
            sys.stdout.write(output if output.endswith("\n") else output + "\n")
        else:
            _check_databases_exist(settings)
            output = asyncio.run(_interlinker_command(settings, _interlinker_commands()[args.command], args))
            sys.stdout.write(output if output.endswith("\n") else output + "\n")
    except (ConfigError, MissingCatalogError, DatabaseInUse, UserError) as exc:
        print(f"interlink: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
