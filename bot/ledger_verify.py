"""Verify an initiative's ledger from its bundle's files, with no store: what ``interlink verify`` runs.

Checked, each failure one line (``Problem``):
1. the chain: every entry's ``seq`` follows the last, its ``prev`` is the last entry's SHA-256, its ``log``
   is the bundle's initiative;
2. the checkpoints (the bundle's and any the officer kept): signed by the bundle's key (or the key they
   pinned), and consistent with the ledger: the entry at their size has their head hash. A ledger
   shorter than a checkpoint lost its newest entries;
3. the PA store's outcomes: each the same as its ledger entry, none missing from the ledger, and every
   outcome of the ledger in the PA store (or waiting in the outbox);
4. every Interlinker's own evidence (``Interlinker.check_ledger``): polls recount their ballots with the
   same pure tally modules and compare them with the ballot fingerprint and the result in the ledger.

The bundle's format is in ``bot.ledger_bundle`` and in the README.md inside every bundle.
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from bot.interlinker import Interlinker
from bot.ledger import public_key_from_pem, public_key_id, signature_holds
from storage.ledger import GENESIS, VERSION


@dataclass
class Verdict:
    """What verifying one initiative's ledger found."""

    initiative: str
    problems: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        head = f"{self.initiative}: " + ", ".join(self.checked)
        return [head, *(f"  {note}" for note in self.notes),
                *(f"PROBLEM {self.initiative}: {problem}" for problem in self.problems)]


@dataclass(frozen=True)
class Expected:
    """A (size, head) pair someone kept: a checkpoint saved from the API, or the line of a digest."""

    size: int
    head: str
    source: str
    signed: dict[str, Any] | None = None  # a saved checkpoint: its published form, to check its signature
    log: int | None = None  # the initiative's ledger it is about (None: whichever is verified)

    def about(self, log: int) -> bool:
        if self.signed is not None:
            return bool(self.signed.get("initiative_id") == log)
        return self.log is None or self.log == log


def verify(files: Mapping[str, bytes], interlinkers: Iterable[type[Interlinker]], kept: Sequence[Expected] = (),
           pinned_key: str | None = None, stored_outcomes: Sequence[dict[str, Any]] | None = None) -> Verdict:
    """Everything above, over one bundle's ``files``. ``stored_outcomes`` (verifying from the database) are
    the outcome rows as recorded, checked against the ledger like the PA store's."""
    collecting = gc.isenabled()
    gc.disable()  # millions of small objects, none cyclic: the collector would only walk them again and again
    try:
        return _verify(files, interlinkers, kept, pinned_key, stored_outcomes)
    finally:
        if collecting:
            gc.enable()


def _verify(files: Mapping[str, bytes], interlinkers: Iterable[type[Interlinker]], kept: Sequence[Expected],
            pinned_key: str | None, stored_outcomes: Sequence[dict[str, Any]] | None) -> Verdict:
    manifest = _json(files, "manifest.json")
    name = str(manifest.get("initiative", {}).get("name", "?")) if isinstance(manifest, dict) else "?"
    verdict = Verdict(name)
    if not isinstance(manifest, dict) or manifest.get("format") != "interlink-ledger-bundle/1":
        verdict.problems.append("manifest.json is missing or is not an interlink-ledger-bundle/1")
        return verdict
    log = manifest["initiative"]["id"]
    entries, hashes = _chain(files.get("ledger.jsonl", b""), log, verdict.problems)
    verdict.checked.append(f"{len(entries)} ledger entries")
    _checkpoints(files, log, hashes, kept, pinned_key, verdict)
    _outcomes(files, entries, stored_outcomes, verdict)
    for cls in interlinkers:
        found = cls.check_ledger(entries, files)
        verdict.problems.extend(found.problems)
        verdict.checked.extend(found.checked)
    return verdict


def _chain(data: bytes, log: int, problems: list[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """The entries, parsed, and each one's hash; a broken link is reported once, and the chain goes on
    from the entry as it is (so one edit is one problem, not one per later entry)."""
    entries: list[dict[str, Any]] = []
    hashes: list[str] = []
    prev = GENESIS
    sha256 = hashlib.sha256
    loads = orjson.loads
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for number, line in enumerate(lines, start=1):
        digest = sha256(line).hexdigest()
        try:
            entry = loads(line)
        except ValueError:
            problems.append(f"ledger line {number} is not JSON")
            entry = {}
        if not isinstance(entry, dict):
            problems.append(f"ledger line {number} is not an entry")
            entry = {}
        if entry.get("seq") != number:
            problems.append(f"ledger line {number} holds entry {entry.get('seq')!r}: entries are missing, "
                            "added or reordered")
        elif entry.get("prev") != prev:
            problems.append(f"entry {number} does not follow entry {number - 1} (its prev hash differs): "
                            f"entry {number - 1} was edited, or entries were reordered or removed")
        if entry.get("log") != log or entry.get("v") != VERSION:
            problems.append(f"entry {number} belongs to ledger {entry.get('log')!r} (v{entry.get('v')}), "
                            f"not to this initiative's ledger {log}")
        entries.append(entry)
        hashes.append(digest)
        prev = digest
    return entries, hashes


def _checkpoints(files: Mapping[str, bytes], log: int, hashes: list[str], kept: Sequence[Expected],
                 pinned_key: str | None, verdict: Verdict) -> None:
    problems = verdict.problems
    try:
        public = public_key_from_pem(files["public_key.pem"])
    except (KeyError, ValueError) as exc:
        problems.append(f"public_key.pem is missing or unreadable ({exc})")
        return
    fingerprint = public_key_id(public)
    verdict.notes.append(f"signing key {fingerprint}")
    if pinned_key is not None and not fingerprint.startswith(pinned_key.lower()):
        problems.append(f"the bundle's key is {fingerprint}, not the key {pinned_key} you expected")
    published = _json(files, "checkpoints.json")
    signed = [item for item in published if isinstance(item, dict)] if isinstance(published, list) else []
    expected = [Expected(int(item.get("size", -1)), str(item.get("head")), f"checkpoint of size {item.get('size')}",
                         item) for item in signed]
    mine = [item for item in kept if item.about(log)]
    expected.extend(mine)
    last = None
    for item in expected:
        if item.signed is not None:
            body = item.signed.get("body", "")
            stated = _loads(body)
            if not signature_holds(public, str(item.signed.get("signature", "")), str(body).encode()):
                problems.append(f"{item.source} (signed at {item.signed.get('signed_at')}): the signature does "
                                "not hold for its body and the bundle's key")
                continue
            if (not isinstance(stated, dict) or stated.get("size") != item.size or stated.get("head") != item.head
                    or stated.get("log") != log):
                problems.append(f"{item.source}: what it says differs from what was signed")
                continue
        if item.size < 1 or item.size > len(hashes):
            problems.append(f"{item.source} ({item.head[:16]}…) is beyond the ledger's {len(hashes)} entries: "
                            "entries were removed since it was published")
        elif hashes[item.size - 1] != item.head:
            problems.append(f"{item.source}: the ledger's entry {item.size} has another hash than the one it "
                            "states: the ledger was changed at or before that entry")
        elif item.signed is not None:
            last = item
    verdict.checked.append(f"{len(signed)} signed checkpoints")
    if mine:
        verdict.checked.append(f"{len(mine)} kept by you")
    if last is not None and last.size < len(hashes):
        verdict.notes.append(f"entries {last.size + 1}-{len(hashes)} are newer than the last signed checkpoint")


def _outcomes(files: Mapping[str, bytes], entries: list[dict[str, Any]],
              stored: Sequence[dict[str, Any]] | None, verdict: Verdict) -> None:
    document = _json(files, "outcomes.json")
    if not isinstance(document, dict):
        verdict.problems.append("outcomes.json is missing")
        return
    by_uid = {entry.get("outcome"): (number, entry) for number, entry in enumerate(entries, start=1)
              if entry.get("outcome")}
    delivered = [item for item in document.get("delivered", []) if isinstance(item, dict)]
    pending = set(document.get("pending", []))
    for label, rows in (("the PA store", delivered), ("the outcomes table", stored or [])):
        for row in rows:
            found = by_uid.get(row.get("id"))
            if found is None:
                verdict.problems.append(f"outcome {row.get('id')} ({row.get('kind')}: {row.get('title')!r}) is in "
                                        f"{label} but not in the ledger")
                continue
            number, entry = found
            data = entry.get("data", {})
            differs = [name for name, here, there in (
                ("kind", row.get("kind"), entry.get("kind")), ("title", row.get("title"), data.get("title")),
                ("result", row.get("result"), data.get("result")),
                ("decided_at", row.get("decided_at"), data.get("decided_at"))) if here != there]
            if differs:
                verdict.problems.append(f"outcome {row.get('id')} ({row.get('title')!r}) in {label} differs from "
                                        f"ledger entry {number}: {', '.join(differs)}")
    seen = {row.get("id") for row in delivered}
    missing = [uid for uid in by_uid if uid not in seen and uid not in pending]
    for uid in missing:
        number, entry = by_uid[uid]
        verdict.problems.append(f"ledger entry {number} ({entry.get('kind')}: {entry.get('data', {}).get('title')!r}) "
                                "is not in the PA store")
    verdict.checked.append(f"{len(delivered)} outcomes in the PA store")
    if pending:
        verdict.notes.append(f"{len(pending)} outcomes are still on their way to the PA store (outbox)")


def _json(files: Mapping[str, bytes], name: str) -> Any:
    return _loads(files.get(name, b""))


def _loads(data: str | bytes) -> Any:
    try:
        return orjson.loads(data)
    except ValueError:
        return None


def expected_from(text: str, source: str) -> list[Expected]:
    """What an officer kept: a JSON list of published checkpoints (the API's ``items``, or the API's
    whole answer), or ``LEDGER/SIZE:HEAD`` words (a digest's line; LEDGER is the initiative's id)."""
    parsed = _loads(text)
    if isinstance(parsed, dict):
        parsed = parsed.get("items", [])
    if isinstance(parsed, list):
        return [Expected(int(item["size"]), str(item["head"]), f"{source}: checkpoint of size {item['size']}", item)
                for item in parsed if isinstance(item, dict) and "size" in item and "head" in item]
    found = []
    for line in text.split():
        log, _slash, pair = line.rpartition("/")
        size, _sep, head = pair.partition(":")
        if not size.isdigit() or len(head) != 64 or (log and not log.isdigit()):
            raise ValueError(f"{source}: {line!r} is not [LEDGER/]SIZE:HEAD (the head being 64 hex digits)")
        found.append(Expected(int(size), head.lower(), f"{source} {pair[:len(size) + 17]}…",
                              log=int(log) if log else None))
    return found


__all__ = ["Expected", "Verdict", "expected_from", "verify"]
