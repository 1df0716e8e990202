"""``interlink verify`` over a bundle of 100 000 ledger entries and 1 000 000 ballots, next to its baseline:
``sha256sum`` over the very same bytes (goal: verify ≤ 3× sha256sum).

The bundle is written unpacked (a folder: what ``interlink verify`` also reads), so both read the same
files from the page cache: the ledger (100 000 entries: 40 closed polls holding 25 000 ballots each, of
every kind, and event, shift and report outcomes), the PA store's copy of every outcome, 100 signed
checkpoints and the 40 ballot files. ``interlink verify FOLDER`` runs as an officer would run it, a fresh
process (Python's start-up included); it checks the chain, every signature, every outcome, and recounts
every poll with the pure tally modules. Rounds alternate (sha256sum, verify) so that noise falls on both;
each figure is the median of ``--runs``.

Run: ``.venv/bin/python bench/ledger_bench.py [--runs 3] [--entries 100000] [--ballots 1000000]``
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bot.ledger import key_id
from interlinkers.polls import _kinds as kinds
from interlinkers.polls._export import ballots_digest
from interlinkers.polls._kinds import Kind
from storage.ledger import GENESIS, canonical, digest

INTERLINK = Path(sys.executable).with_name("interlink")
POLLS = 40
KINDS = (Kind.SINGLE, Kind.MULTIPLE, Kind.RANKED, Kind.SCORE, Kind.DOTS, Kind.CONSENT)
OPTIONS = ("Park", "Library", "Market", "School", "River")


def _choice(kind: Kind, rng: random.Random) -> tuple[int, ...]:
    if kind is Kind.SINGLE:
        return (rng.randint(1, 5),)
    if kind is Kind.MULTIPLE:
        return tuple(sorted(rng.sample(range(1, 6), rng.randint(1, 2))))
    if kind is Kind.RANKED:
        return tuple(rng.sample(range(1, 6), rng.randint(1, 5)))
    if kind is Kind.SCORE:
        return tuple(rng.randint(0, 5) for _ in range(5))
    if kind is Kind.DOTS:
        dots = [0] * 5
        for _ in range(3):
            dots[rng.randrange(5)] += 1
        return tuple(dots)
    return (rng.choice((1, 1, 1, 2, 3)),)


def _poll(number: int, kind: Kind, ballots: int, rng: random.Random,
          closed: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    """A closed poll's export document and its outcome's result, as the close computes them."""
    choices = [_choice(kind, rng) for _ in range(ballots)]
    options = ["Agree", "Abstain", "Disagree", "Block"] if kind is Kind.CONSENT else list(OPTIONS)
    limit = 2 if kind is Kind.MULTIPLE else 3 if kind is Kind.DOTS else None
    rows: list[dict[str, Any]] = []
    receipts = sorted(base64.b32encode(rng.randbytes(5)).decode() for _ in range(ballots))
    for receipt, choice in zip(receipts, choices, strict=True):
        if kind is Kind.CONSENT:
            rows.append({"id": receipt, "choice": kinds.STANCES[choice[0] - 1], "reason": None})
        else:
            rows.append({"id": receipt, "choice": list(choice)})
    count = kinds.count(kinds.Rules(kind, len(options), limit), choices)
    outcome = kinds.outcome(kind, count, ballots, None)
    result: dict[str, Any] = {
        "kind": kind.value, "options": [{"label": label, "votes": 0} for label in options], "total_votes": ballots,
        "ballots_sha256": ballots_digest(rows),
        "winners": [options[w - 1] for w in count.main.winners] if outcome in ("decided", "tie") else [],
        "outcome": outcome, "anonymous": True, "closed_by": "deadline", "poll_number": number, "quorum": None,
        "statement": None}
    if count.schulze is not None:
        result["rounds"] = [[int(v) for v in r] for r in count.main.rounds]
        result["schulze_winners"] = [options[w - 1] for w in count.schulze.winners]
    if count.stances is not None:
        result["stances"] = {stance: getattr(count.stances, stance) for stance in kinds.STANCES}
        result["reasons"] = []
    document = {"format": "interlink-ballots/1",
                "poll": {"initiative": "Bench", "number": number, "question": f"Question {number}?", "kind": kind.value,
                         "options": options, "limit": limit, "anonymous": True, "closed_at": closed.isoformat(),
                         "outcome": outcome},
                "ballots": rows, "ballots_sha256": result["ballots_sha256"]}
    return document, result


def write_bundle(folder: Path, entries: int, ballots: int) -> None:
    rng = random.Random(14)
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    (folder / "polls").mkdir(parents=True)
    poll_at = {round(i * entries / POLLS) + 1: i + 1 for i in range(POLLS)}
    start = datetime(2026, 1, 1, tzinfo=UTC)
    prev, lines, documents, checkpoints = GENESIS, [], [], []
    for seq in range(1, entries + 1):
        at = start + timedelta(minutes=seq)
        if seq in poll_at:
            number = poll_at[seq]
            document, result = _poll(number, KINDS[number % len(KINDS)], ballots // POLLS, rng, at)
            (folder / "polls" / f"poll-{number}.json").write_bytes(
                json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode())
            kind, title = "poll", f"Question {number}?"
        else:
            kind, title = rng.choice(("event_held", "shift_done", "report_status")), f"Thing {seq}"
            result = {"number": seq, "going": seq % 13, "status": "fixed", "place": "Via Roma 3",
                      "lat": 45.07 + seq * 1e-6, "long": 7.68}
        uid = str(uuid.UUID(int=rng.getrandbits(128)))
        data = {"decided_at": at.isoformat(), "result": result, "title": title}
        body = canonical({"at": at.isoformat(), "by": f"P-{rng.getrandbits(40):010x}"[:10], "data": data,
                          "kind": kind, "log": 1, "outcome": uid, "prev": prev, "seq": seq, "v": 1})
        prev = digest(body)
        lines.append(body)
        documents.append({"id": uid, "kind": kind, "initiative": "Bench", "title": title, "result": result,
                          "decided_at": at.isoformat()})
        if seq % 1000 == 0:
            signed = canonical({"head": prev, "key": key_id(public), "log": 1, "signed_at": at.isoformat(),
                                "size": seq, "v": 1})
            checkpoints.append({"initiative_id": 1, "size": seq, "head": prev, "signed_at": at.isoformat(),
                                "key_id": key_id(public), "body": signed.decode(),
                                "signature": base64.b64encode(key.sign(signed)).decode()})
    (folder / "ledger.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))
    (folder / "checkpoints.json").write_text(json.dumps(checkpoints, indent=1))
    (folder / "outcomes.json").write_text(json.dumps({"delivered": documents, "pending": []}, ensure_ascii=False))
    (folder / "public_key.pem").write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    (folder / "manifest.json").write_text(json.dumps({"format": "interlink-ledger-bundle/1",
                                                      "initiative": {"id": 1, "name": "Bench"}, "entries": entries}))


def _timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{command[0]} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return elapsed, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--ballots", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "bundle"
        started = time.perf_counter()
        write_bundle(folder, args.entries, args.ballots)
        files = sorted(str(path) for path in folder.rglob("*") if path.is_file())
        size = sum(Path(path).stat().st_size for path in files)
        print(f"bundle: {args.entries} entries, {args.ballots} ballots in {POLLS} polls, {len(files)} files, "
              f"{size / 1e6:.1f} MB (written in {time.perf_counter() - started:.1f} s)")
        env = {"PATH": "/usr/bin:/bin", "INTERLINK_STATE_DIR": str(Path(tmp) / "var"), "HOME": tmp}
        sha, verify = [], []
        output = ""
        for _ in range(args.runs):
            sha.append(_timed(["sha256sum", *files])[0])
            elapsed, output = _timed([str(INTERLINK), "verify", str(folder)], env)
            verify.append(elapsed)
        print(output.strip().splitlines()[0])
        print(output.strip().splitlines()[-1])
        base, mine = statistics.median(sha), statistics.median(verify)
        print(f"sha256sum over the same bytes: {base:.3f} s (runs {', '.join(f'{t:.3f}' for t in sha)})")
        print(f"interlink verify:              {mine:.3f} s (runs {', '.join(f'{t:.3f}' for t in verify)})")
        print(f"ratio: {mine / base:.1f}x (goal <= 3x)")


if __name__ == "__main__":
    main()
