"""``interlink verify`` and ``interlink ledger …``: export an initiative's verification bundle, sign
checkpoints now, show the signing key, and verify a ledger from the database or from a bundle.

``verify`` prints one line per initiative (what it checked) and one line per problem, and exits 1 when
there is any problem (2 for a bad argument or setting, as every command)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from bot import ledger_bundle
from bot.app import App, every_interlinker
from bot.config import Settings
from bot.errors import UserError
from bot.interlinker import Interlinker
from bot.ledger_verify import Expected, Verdict, expected_from, verify
from bot.officers_cli import initiative_named
from storage.models import Initiative, LedgerHead


def add_commands(command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """Add ``verify`` and ``ledger`` with ``command(name, help)`` (``bot.cli``'s subparser maker)."""
    check = command("verify", "verify initiatives' ledgers: from the database, or from an exported bundle "
                              "with no database at all")
    check.add_argument("bundle", nargs="?", type=Path, help="a bundle (.zip or folder); default: the database")
    check.add_argument("--initiative", help="from the database: only this initiative (its name)")
    check.add_argument("--checkpoints", type=Path, action="append", default=[],
                       help="checkpoints you kept (the JSON of /api/v1/ledger/checkpoints): catches a ledger cut short")
    check.add_argument("--expect", action="append", default=[], metavar="SIZE:HEAD",
                       help="a size and head hash you kept (a digest's ledger line)")
    check.add_argument("--key", help="the signing key id you expect (16 hex digits, or its start)")
    check.add_argument("--receipt", action="append", default=[], help="a ballot receipt to look for")
    books = command("ledger", "export an initiative's verification bundle, sign checkpoints now, or show the "
                              "signing key")
    books.add_argument("action", choices=["export", "checkpoint", "key"])
    books.add_argument("--initiative", help="export: the initiative's name")
    books.add_argument("--output", "-o", type=Path,
                       help="export: where to write the ZIP (default: ledger-<name>-<date>.zip)")


async def run_ledger(settings: Settings, args: argparse.Namespace) -> str:
    app = await _app(settings)
    try:
        if args.action == "key":
            key = app.services.ledger_key
            return f"key id {key.key_id}\n{key.public_pem().decode()}"
        if args.action == "checkpoint":
            signed = await app.checkpoints.sign_grown()
            return f"{signed} checkpoint(s) signed"
        if not args.initiative:
            raise UserError("ledger export needs --initiative NAME")
        async with app.sessions() as session:
            initiative = await initiative_named(session, args.initiative)
        files = await ledger_bundle.build(app.services, initiative)
        output = args.output or Path(ledger_bundle.filename(initiative))
        output.write_bytes(ledger_bundle.zipped(files))
        entries = files["ledger.jsonl"].count(b"\n")
        return f"{output}: {entries} entries, key {app.services.ledger_key.key_id}"
    finally:
        await app.close_stores()


async def run_verify(settings: Settings, args: argparse.Namespace) -> int:
    kept: list[Expected] = []
    try:
        for path in args.checkpoints:
            kept.extend(expected_from(path.read_text(encoding="utf-8"), str(path)))
        for text in args.expect:
            kept.extend(expected_from(text, "--expect"))
    except (OSError, ValueError) as exc:
        raise UserError(str(exc)) from None
    interlinkers = every_interlinker()
    if args.bundle is not None:
        try:
            files = ledger_bundle.read(args.bundle)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        checked = [(files, verify(files, interlinkers, kept, args.key))]
    else:
        checked = await _from_database(settings, args, kept, interlinkers)
    for _files, verdict in checked:
        print("\n".join(verdict.lines()))
    problems = sum(len(verdict.problems) for _files, verdict in checked)
    for receipt in args.receipt:
        found = [line for files, _verdict in checked for cls in interlinkers
                 for line in cls.find_receipt(receipt, files)]
        print("\n".join(found) if found else f"PROBLEM receipt {receipt.strip().upper()}: in no closed poll's ballots")
        problems += not found
    print(f"{problems} problem(s) found." if problems else "No problem found.")
    sys.stdout.flush()
    return 1 if problems else 0


async def _from_database(settings: Settings, args: argparse.Namespace, kept: list[Expected],
                         interlinkers: list[type[Interlinker]]) -> list[tuple[dict[str, bytes], Verdict]]:
    """Each initiative's ledger (or the one named), as its bundle would be now, and what verifying it
    found, the outcomes table's rows checked too."""
    app = await _app(settings)
    checked = []
    try:
        async with app.sessions() as session:
            if args.initiative:
                initiatives = [await initiative_named(session, args.initiative)]
            else:
                initiatives = list((await session.scalars(
                    select(Initiative).join(LedgerHead, LedgerHead.initiative_id == Initiative.id)
                    .order_by(Initiative.id))).all())
        for initiative in initiatives:
            files = await ledger_bundle.build(app.services, initiative)
            async with app.sessions() as session:
                rows = await ledger_bundle.stored_outcomes(session, initiative.id)
            checked.append((files, verify(files, interlinkers, kept, args.key, stored_outcomes=rows)))
        if not initiatives:
            print("no ledger yet: nothing has been decided")
    finally:
        await app.close_stores()
    return checked


async def _app(settings: Settings) -> App:
    app = App(settings, http=False)
    await app.migrate()
    await app.migrate_pa_store()
    app.register_interlinkers()
    return app


__all__ = ["add_commands", "run_ledger", "run_verify"]
