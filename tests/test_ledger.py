"""The tamper-evident ledger, as an officer and a voter use it: a real initiative built by chat commands,
its verification bundle exported and verified with no database, and each kind of tampering named by
``interlink verify``: an edited outcome (in the bundle, in the outcomes table, in the PA store), an edited
ballot, a deleted last entry caught by a checkpoint kept from the API, a reordered pair, a forged
signature, a bundle re-signed with another key. Then 10 000 outcomes, and two workers on PostgreSQL
closing polls at the same moment."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, update

from bot import ledger_bundle, ledger_cli
from bot.app import App
from bot.cli import _parser
from bot.config import Settings
from bot.events import ChatRef, Command, Update, UserRef
from bot.ledger_verify import Expected, Verdict, expected_from, verify
from bot.officers import new_api_key
from storage import ledger
from storage.models import Initiative, LedgerCheckpoint, LedgerEntry, Outcome, PAOutcome
from storage.outbox import record_outcome
from tests.conftest import ConsoleChat, _create_pg_database, _drop_pg_database, _postgres_admin_url, running_console
from tests.pa_world import World, build

NAMES = re.compile(rb"\b(ann|ben|cat|dan|eve)\b", re.IGNORECASE)


def _verify(app: App, files: dict[str, bytes], kept: list[Expected] | None = None,
            key: str | None = None) -> Verdict:
    return verify(files, app.interlinker_classes(), kept or [], key)


def _lines(files: dict[str, bytes]) -> list[bytes]:
    return files["ledger.jsonl"].splitlines()


def _with(files: dict[str, bytes], name: str, data: bytes) -> dict[str, bytes]:
    return {**files, name: data}


async def test_a_bundle_verifies_and_every_kind_of_tampering_is_named(
    console_chat: ConsoleChat, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    say, app = console_chat.say, console_chat.app
    world = await build(console_chat)
    await say("@ann /propose We open the garden on Sundays | anonymous")
    for who in ("ben", "cat"):
        await say(f"@{who} /vote 3 agree")
    await say("@ann /close 3")
    await say("@ann /poll Which plants first? | Roses | Herbs | Tomatoes | ranked")
    await say("@ben /vote 4 2 1 3")
    await say("@cat /vote 4 3 2")
    await say("@ann /close 4")
    await say("@ann /promote ben")
    await say("@ann /settings pollcreators organisers")
    await app.services.outbox.deliver_due()
    async with app.sessions() as session:
        initiative = await session.get(Initiative, world.initiative_id)
        assert initiative is not None
    files = await ledger_bundle.build(app.services, initiative)

    # A clean bundle verifies: every entry chained, the poll closes' checkpoints signed, every outcome the
    # PA received matching, the three closed polls recounted.
    verdict = _verify(app, files)
    assert verdict.ok, verdict.problems
    assert "3 polls recounted" in verdict.checked and "3 signed checkpoints" in verdict.checked
    entries = [json.loads(line) for line in _lines(files)]
    kinds = [entry["kind"] for entry in entries]
    for kind in ("poll", "event_confirmed", "shift_planned", "report_submitted", "role_changed", "setting_changed"):
        assert kind in kinds, kinds
    assert entries[-2]["data"]["role"] == "organiser" and entries[-2]["data"]["member"].startswith("P-")
    assert entries[-1]["data"] == {"setting": "pollcreators", "value": "organisers"}
    assert all(entry["by"] is None or re.fullmatch(r"P-[a-z2-7]{8}", entry["by"]) for entry in entries)
    # People appear only as pseudonyms, in the ledger and in the ballots; the anonymous proposal's
    # ballots carry their receipts and stances only.
    for name, data in files.items():
        if name != "README.md":
            assert not NAMES.search(data), name
    proposal = json.loads(files["polls/poll-3.json"])
    assert sorted(proposal["ballots"][0]) == ["choice", "id", "reason"]

    # The voter's receipt: /myballot names the sealing entry; the bundle finds the ballot with its choice.
    assert "Press the button" in await say("@ben /myballot 1")
    answer = await say("@ben [1]")  # shown to ben alone
    receipt = re.search(r"receipt is ([A-Z2-7]{8})", answer)
    assert receipt is not None and "sealed in entry" in answer, answer
    poll_entry = next(n for n, entry in enumerate(entries, 1) if entry["kind"] == "poll")
    assert f"entry {poll_entry} " in answer
    bundle = tmp_path / "bundle.zip"
    bundle.write_bytes(ledger_bundle.zipped(files))
    assert await ledger_cli.run_verify(app.settings, _parser().parse_args(
        ["verify", str(bundle), "--receipt", receipt.group(1).lower()])) == 0
    printed = capsys.readouterr().out
    assert f"receipt {receipt.group(1)}: in the ballots of poll #1" in printed and '["Saturday"]' in printed
    assert printed.strip().endswith("No problem found.")

    # 1. An edited outcome in the bundle: the PA store's copy no longer matches its entry.
    outcomes = json.loads(files["outcomes.json"])
    outcomes["delivered"][0]["result"]["winners"] = ["Sunday"]
    found = _verify(app, _with(files, "outcomes.json", json.dumps(outcomes).encode())).problems
    assert len(found) == 1 and "differs from ledger entry 1: result" in found[0], found

    # 2. An edited ballot: the seal breaks and the recount disagrees.
    ballots = json.loads(files["polls/poll-1.json"])
    flipped = next(row for row in ballots["ballots"] if row["choice"] == [1])
    flipped["choice"] = [2]
    found = _verify(app, _with(files, "polls/poll-1.json", json.dumps(ballots).encode())).problems
    assert any("not those the ledger sealed" in problem for problem in found), found
    assert any("recounting gives winners ['Sunday']" in problem for problem in found), found

    # 3. The last entry deleted, with the bundle's checkpoints trimmed to match: the bundle alone looks
    # whole, but the checkpoints the officer kept from the API show that entries were removed.
    last_size = len(entries)
    assert await app.checkpoints.sign_grown() == 1  # the hourly signing, now: the entries after the last close
    kept_json = await _get_checkpoints(app, await _api_key(app, world))
    assert max(item["size"] for item in kept_json["items"]) == last_size
    cut = b"".join(line + b"\n" for line in _lines(files)[:-1])
    trimmed = [item for item in json.loads(files["checkpoints.json"]) if item["size"] < last_size]
    shortened = {**files, "ledger.jsonl": cut, "checkpoints.json": json.dumps(trimmed).encode()}
    assert _verify(app, shortened).ok, "without a kept checkpoint a cut-short chain is still a valid chain"
    kept = expected_from(json.dumps(kept_json), "kept.json")
    found = _verify(app, shortened, kept).problems
    assert any(f"checkpoint of size {last_size}" in p and "entries were removed" in p for p in found), found
    # The same from a digest's line (LEDGER/SIZE:HEAD), as the CLI takes it.
    head = kept_json["items"][-1]["head"]
    found = _verify(app, shortened, expected_from(f"{world.initiative_id}/{last_size}:{head}", "--expect")).problems
    assert any("entries were removed" in problem for problem in found), found

    # 4. A reordered pair: both entries are out of place.
    lines = _lines(files)
    lines[3], lines[4] = lines[4], lines[3]
    found = _verify(app, _with(files, "ledger.jsonl", b"".join(line + b"\n" for line in lines))).problems
    assert any("ledger line 4 holds entry 5" in problem for problem in found), found

    # 5. A forged signature (one byte of the first checkpoint's changed).
    forged = json.loads(files["checkpoints.json"])
    raw = bytearray(base64.b64decode(forged[0]["signature"]))
    raw[0] ^= 1
    forged[0]["signature"] = base64.b64encode(bytes(raw)).decode()
    found = _verify(app, _with(files, "checkpoints.json", json.dumps(forged).encode())).problems
    assert len(found) == 1 and "the signature does not hold" in found[0], found

    # 6. An entry rewritten, and everything after it re-chained and re-signed with another key: every
    # signature holds, but not by the key the officer was given.
    rewritten = _rechained(files, index=kinds.index("event_confirmed"),
                           change=lambda entry: entry["data"].update(title="Garden party"))
    assert _verify(app, rewritten).ok, "a consistent forgery with its own key is only caught by pinning the key"
    found = _verify(app, rewritten, key=app.services.ledger_key.key_id).problems
    assert len(found) == 1 and "not the key" in found[0], found

    # 7. The database tampered with directly: an outcome row, and the PA store's copy of another; the
    # verifier run on the database (`interlink verify`) names both, and exits 1.
    async with app.sessions.begin() as session:
        row = (await session.scalars(select(Outcome).where(Outcome.kind == "poll").order_by(Outcome.id))).first()
        assert row is not None
        row.payload = {**row.payload, "title": "Which day for the party?"}
    async with app.services.pa_sessions.begin() as pa:
        copy = (await pa.scalars(select(PAOutcome).where(PAOutcome.kind == "report_submitted"))).first()
        assert copy is not None
        copy.document = {**copy.document, "result": {**copy.document["result"], "status": "closed"}}
    assert await ledger_cli.run_verify(app.settings, _parser().parse_args(["verify"])) == 1
    printed = capsys.readouterr().out
    assert "in the outcomes table differs from ledger entry 1: title" in printed, printed
    assert re.search(r"in the PA store differs from ledger entry \d+: result", printed), printed
    assert printed.strip().endswith("2 problem(s) found.")


def _rechained(files: dict[str, bytes], index: int, change: Callable[[dict[str, object]], None]) -> dict[str, bytes]:
    """The bundle as someone holding their own key could rewrite it: one entry changed, every later
    entry re-chained, the checkpoints re-signed, the public key replaced (and the PA copy edited too)."""
    key = Ed25519PrivateKey.generate()
    prev, lines, hashes = ledger.GENESIS, [], []
    for number, line in enumerate(_lines(files)):
        entry = json.loads(line)
        if number == index:
            change(entry)
        entry["prev"] = prev
        body = ledger.canonical(entry)
        prev = ledger.digest(body)
        lines.append(body)
        hashes.append(prev)
    checkpoints = []
    for item in json.loads(files["checkpoints.json"]):
        body = json.loads(item["body"])
        body["head"] = hashes[item["size"] - 1]
        text = ledger.canonical(body)
        checkpoints.append({**item, "head": body["head"], "body": text.decode(),
                            "signature": base64.b64encode(key.sign(text)).decode()})
    outcomes = json.loads(files["outcomes.json"])
    first = json.loads(lines[index])
    for document in outcomes["delivered"]:
        if document["id"] == first["outcome"]:
            document["title"] = first["data"]["title"]
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return {**files, "ledger.jsonl": b"".join(line + b"\n" for line in lines),
            "checkpoints.json": json.dumps(checkpoints).encode(), "public_key.pem": public,
            "outcomes.json": json.dumps(outcomes).encode()}


async def _api_key(app: App, world: World) -> str:
    officer_id = await world.officer("Giulia Rossi", "it")
    async with app.sessions.begin() as session:
        return await new_api_key(session, officer_id, "read", "ledger test")


async def _get_checkpoints(app: App, key: str) -> dict[str, object]:
    url = f"http://127.0.0.1:{app.http_server.port}/api/v1/ledger/checkpoints"
    async with aiohttp.ClientSession() as http, http.get(url, headers={"Authorization": f"Bearer {key}"}) as answer:
        assert answer.status == 200
        return dict(await answer.json())


@pytest.fixture
async def console_chat(database_url: str, make_settings: Callable[..., Settings]) -> AsyncIterator[ConsoleChat]:
    async with running_console(make_settings(database_url), http=True) as chat:
        yield chat


async def test_ten_thousand_outcomes_verify(make_settings: Callable[..., Settings], tmp_path: Path) -> None:
    """A clean ledger of 10 000 outcomes (a busy initiative's years) verifies, from the database."""
    app = App(make_settings(f"sqlite+aiosqlite:///{tmp_path / 'big.db'}"), http=False)
    await app.migrate()
    app.register_interlinkers()
    try:
        async with app.sessions.begin() as session:
            initiative = Initiative(name="Busy street", timezone="Europe/Rome", locale="it")
            session.add(initiative)
        for batch in range(10):
            async with app.sessions.begin() as session:
                for n in range(1000):
                    await record_outcome(session, initiative.id, "event_held", f"Market day {batch * 1000 + n}",
                                         {"number": batch * 1000 + n, "going": n % 7}, by="P-abcdefgh")
        files = await ledger_bundle.build(app.services, initiative)
        async with app.sessions() as session:
            rows = await ledger_bundle.stored_outcomes(session, initiative.id)
        verdict = verify(files, app.interlinker_classes(), stored_outcomes=rows)
        assert verdict.ok, verdict.problems[:5]
        assert "10000 ledger entries" in verdict.checked
        assert "10000 outcomes are still on their way to the PA store (outbox)" in verdict.notes
        # One entry edited in the middle of 10 000 is one problem, named by its number.
        lines = _lines(files)
        lines[4999] = lines[4999].replace(b"Market day 4999", b"Market day 4998")
        found = verify({**files, "ledger.jsonl": b"\n".join(lines) + b"\n"}, app.interlinker_classes()).problems
        assert any("entry 5001 does not follow entry 5000" in problem for problem in found), found[:3]
    finally:
        await app.engine.dispose()


@pytest.fixture
def postgres_url() -> AsyncIterator[str]:
    admin = _postgres_admin_url()
    if admin is None:
        pytest.skip("needs PostgreSQL (set by .ci/run)")
    url, name = asyncio.run(_create_pg_database(admin))
    yield url  # type: ignore[misc]
    asyncio.run(_drop_pg_database(admin, name))


async def test_two_workers_closing_polls_at_once_make_one_chain(
    postgres_url: str, make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    """One initiative with two group chats (``/link``), each served by its own worker on one PostgreSQL:
    twelve polls closed by hand at the same moment, six in each chat (updates of different chats run
    side by side; only the ledger's head orders them). Every close lands in the initiative's one chain
    (no fork, no gap, no number twice) and signs a checkpoint that holds for it. The head's lock makes
    them queue: none has to be retried (without it, the unique entry number would refuse all but one
    of each clash and the dispatcher would retry the rest)."""
    from tests.test_core import RecordingAdapter

    settings = make_settings(postgres_url)
    adapters = [RecordingAdapter(organisers={"ann"}) for _ in range(2)]
    apps = [App(settings, adapters=[adapter], http=False) for adapter in adapters]
    for app in apps:
        await app.start()
    chats = [ChatRef("test", "garden", title="Orti di Pietralata"), ChatRef("test", "tools", title="Attrezzi"),
             ChatRef("test", "ann", title="Ann", is_private=True)]
    ann = UserRef("test", "ann", "Ann")
    counter = iter(range(1, 10_000))

    def said(text: str, chat: int, who: UserRef = ann) -> Update:
        name, _sep, args = text.partition(" ")
        return Update(f"u{next(counter)}", chats[chat], who, Command(name, args))

    async def shown(text: str) -> str:
        """The first message either worker's adapter sent (one worker holds the sending lease) with ``text``."""
        for _ in range(200):
            found = [m for adapter in adapters for m in adapter.texts() if text in m]
            if found:
                return found[0]
            await asyncio.sleep(0.05)
        raise AssertionError(f"never shown: {text} in {[adapter.texts() for adapter in adapters]}")

    try:
        await apps[0].handle(said("start", 0))
        await apps[0].handle(said("start", 2))  # her private chat, where the code comes
        await apps[0].handle(said("link", 0))
        code = re.search(r"/link (\S+)", await shown("/link "))
        assert code is not None
        await apps[1].handle(said(f"link {code[1]}", 1))
        await shown("This chat is now part of")
        for n in range(12):  # polls 1, 3, 5… in the garden chat, 2, 4, 6… in the tools chat
            await apps[n % 2].handle(said(f"poll Question {n}? | Yes | No", n % 2))
            await apps[n % 2].handle(said(f"vote {n + 1} {1 + n % 2}", n % 2, UserRef("test", f"v{n}", f"Voter {n}")))
        caplog.clear()
        await asyncio.gather(*(apps[n % 2].handle(said(f"close {n + 1}", n % 2)) for n in range(12)))
        assert not [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
        async with apps[0].sessions() as session:
            initiative = (await session.scalars(select(Initiative).order_by(Initiative.id))).first()
            assert initiative is not None  # the garden's, which the tools chat joined
            rows = list((await session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq))).all())
            signed = list((await session.scalars(select(LedgerCheckpoint))).all())
        closes = [json.loads(row.body) for row in rows if json.loads(row.body)["kind"] == "poll"]
        assert len(closes) == 12 and [row.seq for row in rows] == list(range(1, 13))
        assert sorted(entry["data"]["result"]["poll_number"] for entry in closes) == list(range(1, 13))
        assert len(signed) == 12, "each close signed the head it made"
        files = await ledger_bundle.build(apps[0].services, initiative)
        verdict = verify(files, apps[0].interlinker_classes())
        assert verdict.ok, verdict.problems
        assert "12 polls recounted" in verdict.checked and "12 signed checkpoints" in verdict.checked
        # What a fork would look like, had there been one: entry 6 built on entry 4, as entry 5 was.
        forked = json.loads(rows[5].body) | {"prev": rows[3].hash}
        async with apps[0].sessions.begin() as session:
            await session.execute(update(LedgerEntry).where(LedgerEntry.id == rows[5].id)
                                  .values(body=ledger.canonical(forked).decode()))
        files = await ledger_bundle.build(apps[0].services, initiative)
        found = verify(files, apps[0].interlinker_classes()).problems
        assert any("entry 6 does not follow entry 5" in problem for problem in found), found
    finally:
        for app in apps:
            await app.stop()
