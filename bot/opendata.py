"""Everything an initiative has decided, as files: the core's (outcomes, members by pseudonym) and every
Interlinker's ``exports``, one by one or as an open-data ZIP with a README of its columns.

People appear only as pseudonyms (``bot.officers.pseudonym``): the same person has the same pseudonym in
every file of one initiative, and an unrelated one in another initiative's.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from bot import ledger_bundle
from bot.officers import pseudonym
from bot.panels import Export, csv_file
from bot.roles import Role
from bot.summary import CSV_COLUMNS, render
from storage.models import Initiative, Membership
from storage.outbox import read_outcomes

if TYPE_CHECKING:
    from bot.services import Services

_OUTCOME_COLUMNS = (
    ("id", "The outcome's permanent identifier (a UUID)."),
    ("initiative", "The initiative's name."),
    ("kind", "What was decided: a poll, an event, a shift, a report's status…"),
    ("title", "The question or title, as the group wrote it."),
    ("decided_at_utc", "When it was decided, ISO 8601, UTC."),
    ("option", "One option of a poll (one row per option)."),
    ("votes", "Votes (or score) for that option."),
    ("total_votes", "Ballots cast in the poll."),
    ("winner", "The winning option(s), separated by ' / '."),
    ("anonymous", "yes when ballots were secret."),
    ("closed_by", "deadline or hand."),
)
assert tuple(name for name, _doc in _OUTCOME_COLUMNS) == CSV_COLUMNS
_MEMBER_COLUMNS = (
    ("person", "A pseudonym, the same in every file of this initiative (never a name)."),
    ("team", "INTERLINK team type: citizen, public_administration, nonprofit or forprofit."),
    ("role", "member or organiser."),
    ("joined_week", "The ISO week they joined (kept to the week)."),
)
OPEN_DATA = "open-data.zip"
LEDGER_BUNDLE = "ledger-bundle.zip"  # the verification bundle (``bot.ledger_bundle``)


def member_record(secret: str, initiative_id: int, user_id: int, team: str, role: int, joined: date
                  ) -> dict[str, str]:
    """A member as the PA side shows them (``_MEMBER_COLUMNS``): a pseudonym, never a name."""
    return {"person": pseudonym(secret, initiative_id, user_id), "team": team,
            "role": "organiser" if role >= Role.ORGANISER else "member",
            "joined_week": "{}-W{:02d}".format(*joined.isocalendar()[:2])}


async def exports(services: Services, initiative: Initiative) -> list[Export]:
    """The core's files and every Interlinker's, for one initiative."""
    outcomes = await read_outcomes(services.pa_sessions, initiative.name)
    found = [
        Export("outcomes.csv", "outcomes.csv", "text/csv; charset=utf-8",
               render(outcomes, "csv", services.settings.tz).encode(), "Outcomes (CSV)", _OUTCOME_COLUMNS),
        Export("outcomes.json", "outcomes.json", "application/json",
               json.dumps(outcomes, ensure_ascii=False, indent=2).encode(), "Outcomes (JSON)", _OUTCOME_COLUMNS),
    ]
    async with services.sessions() as session:
        members = (await session.execute(select(Membership.user_id, Membership.team, Membership.role,
                                                 Membership.joined_at)
                                          .where(Membership.initiative_id == initiative.id)
                                          .order_by(Membership.joined_at, Membership.user_id))).all()
        rows = [list(member_record(services.settings.secret, initiative.id, *member).values()) for member in members]
        found.append(Export("members.csv", "members.csv", "text/csv; charset=utf-8",
                            csv_file([name for name, _doc in _MEMBER_COLUMNS], rows), "Members (CSV)", _MEMBER_COLUMNS))
        for interlinker in services.interlinkers.values():
            found.extend(await interlinker.exports(session, initiative.id))
    return found


async def export_named(services: Services, initiative: Initiative, name: str) -> Export | None:
    """One of ``exports`` by its name, the open-data ZIP of them all (``OPEN_DATA``), or the ledger's
    verification bundle (``LEDGER_BUNDLE``)."""
    if name == LEDGER_BUNDLE:
        bundle = ledger_bundle.zipped(await ledger_bundle.build(services, initiative))
        return Export(LEDGER_BUNDLE, ledger_bundle.filename(initiative), "application/zip", bundle,
                      "Verification bundle: ledger, signed checkpoints, anonymised ballots")
    files = await exports(services, initiative)
    if name == OPEN_DATA:
        return Export(OPEN_DATA, f"initiative-{initiative.id}.zip", "application/zip",
                      open_data_zip(initiative, files), "Everything, as open data (ZIP with a README)")
    return next((export for export in files if export.name == name), None)


def open_data_zip(initiative: Initiative, files: Sequence[Export]) -> bytes:
    """A ZIP of ``files`` and a README.md that describes each one and its columns."""
    readme = [f"# {initiative.name}: open data", "",
              f"Exported {datetime.now(UTC).replace(microsecond=0).isoformat()} (UTC). Initiative phase: "
              f"{initiative.phase}. Partner administration: {initiative.partner or '-'}.", "",
              "People are named only by pseudonyms (P-…), the same across these files and unrelated to any other "
              "initiative's. CSV files are UTF-8, comma-separated, with a header row; a text cell that a "
              "spreadsheet would run as a formula starts with an apostrophe.", ""]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for export in files:
            archive.writestr(export.filename, export.content)
            readme += [f"## {export.filename}", "", export.title, ""]
            readme += [f"- `{name}`: {doc}" for name, doc in export.columns]
            readme.append("")
        archive.writestr("README.md", "\n".join(readme))
    return buffer.getvalue()


__all__ = ["LEDGER_BUNDLE", "OPEN_DATA", "export_named", "exports", "member_record", "open_data_zip"]
