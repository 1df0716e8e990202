"""An initiative's verification bundle: everything needed to verify its ledger with no database.

A ZIP (or a folder with the same files) holding ``manifest.json``, ``ledger.jsonl``, ``checkpoints.json``,
``public_key.pem``, ``outcomes.json`` and each Interlinker's evidence (``polls/poll-N.json``: a closed
poll's anonymised ballots); its ``README.md`` (``README`` below) is the format's specification, written so
that someone else can write their own verifier.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.ledger import published
from storage import ledger
from storage.models import Initiative, OutboxItem, Outcome, PAOutcome
from storage.outbox import outcome_document

if TYPE_CHECKING:
    from bot.services import Services

FORMAT = "interlink-ledger-bundle/1"
MAX_BUNDLE_BYTES = 2 * 1024**3  # a bundle larger than this is refused rather than read into memory


async def build(services: Services, initiative: Initiative) -> dict[str, bytes]:
    """The bundle's files, from the database as it is now."""
    async with services.sessions() as session:
        entries = await ledger.entries(session, initiative.id)
        signed = await ledger.checkpoints(session, [initiative.id])
        outcome_uids = [entry.outcome_uid for entry in entries if entry.outcome_uid]
        pending = list((await session.scalars(
            select(Outcome.uid).join(OutboxItem, OutboxItem.outcome_id == Outcome.id)
            .where(Outcome.initiative_id == initiative.id, OutboxItem.delivered_at.is_(None)))).all())
        evidence: dict[str, bytes] = {}
        for interlinker in services.interlinkers.values():
            evidence.update(await interlinker.ledger_evidence(session, initiative.id))
    delivered = await _pa_documents(services, initiative.name, outcome_uids)
    files = {
        "manifest.json": _dump({"format": FORMAT, "initiative": {"id": initiative.id, "name": initiative.name},
                                "exported_at": datetime.now(UTC).isoformat(), "key_id": services.ledger_key.key_id,
                                "entries": len(entries)}),
        "ledger.jsonl": "".join(entry.body + "\n" for entry in entries).encode(),
        "checkpoints.json": _dump([published(checkpoint) for checkpoint in signed]),
        "public_key.pem": services.ledger_key.public_pem(),
        "outcomes.json": _dump({"delivered": delivered, "pending": pending}),
        **evidence,
    }
    files["README.md"] = README.encode()
    return files


async def stored_outcomes(session: AsyncSession, initiative_id: int) -> list[dict[str, Any]]:
    """The outcomes table's rows of an initiative, in the PA document's shape (verifying from the
    database checks them against the ledger too)."""
    initiative = await session.get(Initiative, initiative_id)
    assert initiative is not None
    rows = (await session.scalars(select(Outcome).where(Outcome.initiative_id == initiative_id)
                                  .order_by(Outcome.id))).all()
    return [outcome_document(row, initiative) for row in rows]


async def _pa_documents(services: Services, name: str, uids: list[str]) -> list[dict[str, Any]]:
    """The PA store's copies: those filed under the initiative's name, and those of its ledger's outcomes
    (filed under an earlier name if it was renamed)."""
    found: dict[str, dict[str, Any]] = {}
    async with services.pa_sessions() as pa:
        for row in (await pa.scalars(select(PAOutcome).where(PAOutcome.initiative == name))).all():
            found[row.uid] = row.document
        for start in range(0, len(uids), 2000):
            chunk = [uid for uid in uids[start:start + 2000] if uid not in found]
            if chunk:
                for row in (await pa.scalars(select(PAOutcome).where(PAOutcome.uid.in_(chunk)))).all():
                    found[row.uid] = row.document
    return sorted(found.values(), key=lambda document: (document["decided_at"], document["id"]))


def _dump(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=1).encode()


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            archive.writestr(name, files[name])
    return buffer.getvalue()


def read(path: Path) -> dict[str, bytes]:
    """A bundle's files from its ZIP or its unpacked folder; ``ValueError`` (one line) when it is neither."""
    if path.is_dir():
        return {str(file.relative_to(path)).replace("\\", "/"): file.read_bytes()
                for file in sorted(path.rglob("*")) if file.is_file()}
    try:
        with zipfile.ZipFile(path) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_BUNDLE_BYTES:
                raise ValueError(f"{path} unpacks to more than {MAX_BUNDLE_BYTES // 1024**3} GiB")
            return {name: archive.read(name) for name in archive.namelist() if not name.endswith("/")}
    except (OSError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path} is not a bundle (a ZIP or a folder): {exc}") from None


def filename(initiative: Initiative, when: datetime | None = None) -> str:
    slug = "".join(c if c.isalnum() else "-" for c in initiative.name.casefold()).strip("-")[:40] or "initiative"
    return f"ledger-{slug}-{(when or datetime.now(UTC)):%Y%m%d}.zip"


README = """\
# Verification bundle of an initiative's ledger

This bundle lets anyone check, with no access to the platform, that the decisions and results of one
initiative are the ones its members reached and that none was changed, reordered or removed afterwards.
With the platform installed: `interlink verify THIS.zip`. Everything it checks is described below, so that
you can write your own verifier.

## Files

- `manifest.json`: `format` ("interlink-ledger-bundle/1"), `initiative` (`id`, `name`), `exported_at`,
  `key_id` (the signing key's id), `entries` (how many ledger entries).
- `ledger.jsonl`: the ledger, one entry per line, oldest first. Each line is the exact UTF-8 text that
  was hashed: **an entry's hash is SHA-256 over its line's bytes** (without the line feed).
- `checkpoints.json`: signed checkpoints, a list of `{initiative_id, size, head, signed_at, key_id, body,
  signature}`. `body` is the exact text that was signed; `signature` is its Ed25519 signature, base64.
- `public_key.pem`: the instance's Ed25519 public key (SubjectPublicKeyInfo PEM). Its id (`key_id`) is
  the first 16 hex digits of SHA-256 over the 32 raw key bytes.
- `outcomes.json`: what the public administration's store holds for this initiative: `delivered` (the
  outcome documents officers read: `id`, `kind`, `initiative`, `title`, `result`, `decided_at`) and
  `pending` (ids of outcomes still on their way through the outbox).
- `polls/poll-N.json`: every closed poll's anonymised ballots (format "interlink-ballots/1"): `poll`
  (`number`, `kind`, `options`, `limit`, …), `ballots` (each `{id, choice}`, plus `reason` for a proposal,
  sorted by `id`; the `id` is the ballot's random receipt, which only its voter knows), `ballots_sha256`.

## An entry

Canonical JSON (keys sorted, no spaces, UTF-8, as RFC 8785 for these values):

    {"at": "2026-11-24T10:00:00.123456+00:00", "by": "P-abcdefgh", "data": {...}, "kind": "poll",
     "log": 3, "outcome": "0b7c…", "prev": "64 hex digits", "seq": 5, "v": 1}

- `seq` counts from 1; `prev` is the previous entry's hash (64 zeros for entry 1); `log` is the
  initiative's id; `at` is when it was appended (UTC).
- `by` names who acted by a pseudonym: a keyed hash per initiative, never a name; null for the clock (a
  deadline) or the public administration.
- `outcome` is the outcome's id when the entry records an outcome; then `data` is `{decided_at, result,
  title}`, the same as the outcome's document.
- Other kinds say who may decide: `role_changed` (`member`: a pseudonym, `role`: organiser or member) and
  `setting_changed` (`setting`, `value`, e.g. who may start polls).

## Checking it

1. **Chain.** For each line n (from 1): its `seq` is n, its `log` is the manifest's initiative id, `v` is
   1, and its `prev` equals SHA-256 of line n-1 (64 zeros for line 1).
2. **Checkpoints.** Each checkpoint's `signature` verifies over `body` (as UTF-8 bytes) with the public
   key; `body` parsed holds the same `size`, `head` and `log` as the checkpoint; and the hash of ledger line
   `size` equals `head`. A checkpoint larger than the ledger means entries were removed after it was
   published. Checkpoints you kept yourself (from the API `/api/v1/ledger/checkpoints`, or the "size:head"
   line of a digest) are checked the same way: that is how a bundle cut short is caught, since whoever
   cut it could also drop the bundle's own later checkpoints. Compare `key_id` with the one you were given.
3. **Outcomes.** Every document in `outcomes.json`'s `delivered` has an entry whose `outcome` is its `id`
   and whose `kind`, `data.title`, `data.result` and `data.decided_at` equal its own; every outcome entry
   is delivered or `pending`.
4. **Polls.** For the last `poll` entry of each poll number (`data.result.poll_number`) that no later
   `poll_reopened` entry follows: `polls/poll-N.json` exists; SHA-256 of the canonical JSON of its `ballots`
   list equals `data.result.ballots_sha256`; their number equals `data.result.total_votes`; and counting
   them again by the poll's method (single choice: plurality; multiple: approval with at most `limit`;
   ranked: instant runoff, and Schulze beside it; score: sum of 0-5; dots: sum; proposal: consent, where
   one block blocks) gives the `winners`, `outcome`, `rounds`, `schulze_winners` and `stances` of the entry.

A voter who kept their ballot's receipt (`/myballot N` in the chat) finds it in `polls/poll-N.json` with
their choice: `interlink verify THIS.zip --receipt RECEIPT`.
"""

__all__ = ["FORMAT", "README", "build", "filename", "read", "stored_outcomes", "zipped"]
