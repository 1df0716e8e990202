"""Decisions, round two: what each poll kind records for the PA, ballots anyone can recount, natural
deadlines in four languages, the dialog's settings, and the group's language for what the group reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.errors import UserError
from bot.i18n import using_locale
from interlinkers.polls._parsing import parse_deadline, parse_poll
from interlinkers.polls.methods import irv, schulze
from storage.models import Outcome
from tests.conftest import ConsoleChat
from tests.test_cli import interlink

ROME = ZoneInfo("Europe/Rome")
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # 10:00 in Rome


async def _outcomes(chat: ConsoleChat) -> list[dict[str, object]]:
    async with chat.app.services.sessions() as session:
        return [o.payload["result"] for o in await session.scalars(select(Outcome).order_by(Outcome.id))]


async def test_block_ranked_and_no_quorum_are_recorded_as_such(console_chat: ConsoleChat) -> None:
    say = console_chat.say
    for name in ("ann", "ben", "cat"):
        await say(f"@{name} /start")
    # A three-person proposal with one block.
    await say("@ann /propose We paint the bench green")
    await say("@ann /vote 1 agree")
    await say("@ben /vote 1 abstain")
    alert = await say("@cat /vote 1 block toxic for hedgehogs")
    assert "cat blocks proposal #1" in alert and "toxic for hedgehogs" in alert and "Organisers (ann)" in alert
    await say("@ann /close 1 We look for another paint.")
    # A ranked poll where instant runoff and Schulze disagree (the centre is squeezed out).
    await say("@ann /poll Which project? | Playground | Garden | Bike lanes | ranked")
    for voter, ranking in (("ann", "1 2 3"), ("ben", "1 2 3"), ("cat", "1 2 3"), ("dan", "3 2 1"), ("eva", "3 2 1"),
                           ("fil", "3 2 1"), ("gus", "2 1 3"), ("hal", "2 1 3")):
        await say(f"@{voter} /vote 2 {ranking}")
    closing = await say("@ann /close 2")
    assert "Result by instant runoff: “Playground”." in closing
    assert "would choose “Garden”" in closing
    # A poll that needs half of the 8 members and gets 2 voters.
    await say("@ann /poll Clean-up on Sunday? | Yes | No | quorum 50%")
    await say("@ben /vote 3 1")
    await say("@cat /vote 3 1")
    assert "Result: no quorum. 2 voters took part, 4 voters were needed" in await say("@ann /close 3")

    consent, ranked, quorum = await _outcomes(console_chat)
    assert consent["outcome"] == "blocked" and consent["winners"] == []
    assert consent["stances"] == {"agree": 1, "abstain": 1, "disagree": 0, "block": 1}
    assert consent["reasons"] == [{"stance": "block", "reason": "toxic for hedgehogs"}]
    assert consent["statement"] == "We look for another paint."
    assert ranked["outcome"] == "decided" and ranked["winners"] == ["Playground"]
    assert ranked["schulze_winners"] == ["Garden"] and ranked["rounds"] == [[3, 2, 3], [5, 0, 3]]
    assert quorum["outcome"] == "no_quorum" and quorum["winners"] == []
    assert quorum["quorum"] == {"needed": 4, "voters": 2, "members": 8}


def test_exported_ballots_recount_to_the_recorded_result_and_name_nobody(tmp_path: Path) -> None:
    script = "".join(f"@{voter} /vote 1 {ranking}\n" for voter, ranking in (
        ("ann", "1 2 3"), ("ben", "1 2 3"), ("cat", "1 2 3"), ("dan", "3 2 1"), ("eva", "3 2 1"), ("fil", "3 2 1"),
        ("gus", "2 1 3"), ("hal", "2 1 3")))
    script = ("@ann /poll Which project? | Playground | Garden | Bike lanes | ranked | anonymous\n" + script
              + "@gus /myballot 1\n@gus [1]\n")
    console = interlink(tmp_path, "console", stdin=script)
    assert console.returncode == 0, console.stderr
    refused = interlink(tmp_path, "ballots", "export", "1")
    assert refused.returncode == 2 and "still open" in refused.stderr
    interlink(tmp_path, "console", stdin="@ann /close 1\n")
    exported = interlink(tmp_path, "ballots", "export", "1")
    assert exported.returncode == 0, exported.stderr
    document = json.loads(exported.stdout)
    ballots = [ballot["choice"] for ballot in document["ballots"]]
    assert sorted(map(tuple, ballots)) == sorted([(1, 2, 3)] * 3 + [(3, 2, 1)] * 3 + [(2, 1, 3)] * 2)
    # Anyone can recount: the same pure modules give the recorded winners.
    assert irv.tally(3, ballots).winners == (1,) and schulze.tally(3, ballots).winners == (2,)
    assert document["result"]["winners"] == [1] and document["result"]["schulze_winners"] == [2]
    receipts = [ballot["id"] for ballot in document["ballots"]]
    assert len(set(receipts)) == 8 and receipts == sorted(receipts)
    assert not any(name in exported.stdout for name in ("ann", "gus", "hal")), "no voter is named"
    # gus's receipt (shown to him alone by /myballot) is in the export with his ranking.
    receipt = console.stdout.split("Your ballot's receipt is ")[1].split(".")[0]
    assert {"id": receipt, "choice": [2, 1, 3]} in document["ballots"]
    csv_rows = interlink(tmp_path, "ballots", "export", "1", "--format", "csv").stdout.splitlines()
    assert csv_rows[0] == "ballot_id,Playground,Garden,Bike lanes" and len(csv_rows) == 9
    assert f"{receipt},2,1,3" in csv_rows
    assert interlink(tmp_path, "ballots", "export", "7").stderr.startswith("interlink: no poll #7")


@pytest.mark.parametrize(("locale", "phrase", "expected"), [
    ("en", "in 2 hours", datetime(2026, 11, 24, 11, 0, tzinfo=UTC)),
    ("en", "in 90 minutes", datetime(2026, 11, 24, 10, 30, tzinfo=UTC)),
    ("en", "in 1 day", datetime(2026, 11, 25, 9, 0, tzinfo=UTC)),
    ("en", "in 2 weeks", datetime(2026, 12, 8, 9, 0, tzinfo=UTC)),
    ("en", "tomorrow 18:00", datetime(2026, 11, 25, 17, 0, tzinfo=UTC)),
    ("en", "at 18:00", datetime(2026, 11, 24, 17, 0, tzinfo=UTC)),
    ("en", "2026-12-01", datetime(2026, 12, 1, 22, 59, tzinfo=UTC)),
    ("en", "2026-12-01 18:00", datetime(2026, 12, 1, 17, 0, tzinfo=UTC)),
    ("en", "in 2h", datetime(2026, 11, 24, 11, 0, tzinfo=UTC)),
    ("it", "tra 2 ore", datetime(2026, 11, 24, 11, 0, tzinfo=UTC)),
    ("it", "fra 90 minuti", datetime(2026, 11, 24, 10, 30, tzinfo=UTC)),
    ("it", "domani alle 18:00", datetime(2026, 11, 25, 17, 0, tzinfo=UTC)),
    ("es", "en 2 semanas", datetime(2026, 12, 8, 9, 0, tzinfo=UTC)),
    ("es", "mañana a las 18:00", datetime(2026, 11, 25, 17, 0, tzinfo=UTC)),
    ("lv", "pēc 2 stundām", datetime(2026, 11, 24, 11, 0, tzinfo=UTC)),
    ("lv", "rīt plkst. 18:00", datetime(2026, 11, 25, 17, 0, tzinfo=UTC)),
])
def test_deadlines_read_naturally_in_four_languages(locale: str, phrase: str, expected: datetime) -> None:
    with using_locale(locale):
        assert parse_deadline(phrase, ROME, NOW) == expected


@pytest.mark.parametrize(("phrase", "message"), [
    ("in 0 minutes", "at least a minute"),
    ("2020-01-01 12:00", "must be in the future"),
    ("in 400 days", "at most a year"),
    ("whenever", "could not read"),
])
def test_zero_past_far_and_unreadable_deadlines_each_say_why(phrase: str, message: str) -> None:
    with using_locale("en"), pytest.raises(UserError, match=message):
        parse_deadline(phrase, ROME, NOW)


def test_options_that_read_like_settings_stay_options() -> None:
    with using_locale("en"):
        hours = parse_poll("Library hours? | Closes at noon | Closes at 6pm", ROME, NOW)
        assert hours.options == ("Closes at noon", "Closes at 6pm") and hours.closes_at is None
        ranked = parse_poll("Format? | Ranked | Score", ROME, NOW)
        assert ranked.options == ("Ranked", "Score") and ranked.kind.value == "single"
        meet = parse_poll("Where? | Library | Park | closes at 18:00 | ranked | quorum 3", ROME, NOW)
        assert meet.options == ("Library", "Park") and meet.kind.value == "ranked" and meet.quorum == 3
        assert meet.closes_at == datetime(2026, 11, 24, 17, 0, tzinfo=UTC)


async def test_the_dialog_sets_a_deadline_and_anonymity(console_chat: ConsoleChat) -> None:
    say = console_chat.say
    await say("@ann /poll")
    await say("@ann Parks or roads?")
    asked = await say("@ann Parks | Roads")
    assert "closes in 2 hours" in asked and "[2] Create it anonymous" in asked
    poll = await say("@ann closes in 30 min | anonymous")
    assert "1. Parks" in poll and "2. Roads" in poll and "3." not in poll
    assert "anonymous · closes " in poll
    # With the buttons: the second poll is anonymous without typing anything.
    await say("@ann /poll")
    await say("@ann Benches or trees?")
    await say("@ann Benches | Trees")
    assert "anonymous" in await say("@ann [2]")


async def test_the_group_reads_its_language_whoever_acts(console_chat: ConsoleChat) -> None:
    say = console_chat.say
    await say("@ann /start")
    await say("@ann /settings language it")
    await say("@ben /language lv")
    await say("@cat /language es")
    poll = await say("@ben /poll Dove? | Biblioteca | Parco")
    assert poll.startswith("bot: Sondaggio #1: Dove?")  # the group's language, not ben's
    # cat's own confirmation is in Spanish:
    assert (await say("@cat /vote 1 2")).startswith("bot: Tu voto en la encuesta #1")
    closing = await say("@ben /close 1")
    assert "Il sondaggio #1 è chiuso" in closing
    assert (await say("@ben /close 1")).startswith("bot: Aptauja")  # an error for ben alone: Latvian
    assert "Parco" in closing and await _outcomes(console_chat)


def test_summary_reports_outcome_kinds_and_statement(tmp_path: Path) -> None:
    script = "@ann /propose New bench | quorum 2\n@ann /vote 1 agree\n@ann /close 1 Ordered on Monday.\n"
    assert interlink(tmp_path, "console", stdin=script).returncode == 0
    text = interlink(tmp_path, "summary", "--locale", "en").stdout
    assert "no quorum" in text and "Outcome: Ordered on Monday." in text
