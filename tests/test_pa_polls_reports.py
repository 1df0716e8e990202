"""Polls and citizen reports as a PA officer sees them: the dashboard's panels (turnout, results, reports by
status and category, times to acknowledge and to fix, the status filter), the digest's lines, the files to
download (pseudonyms and receipts, never a name) and the participation they feed. On SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from bot.i18n import format_moment, using_locale
from bot.officers import pseudonym
from bot.panels import Chart, Scope, Series, Table, participants_by_week, week_start
from interlinkers.polls._models import Ballot, Poll
from interlinkers.reports._models import Report, StatusChange
from storage.models import Initiative, User
from tests.conftest import ConsoleChat

ROME = ZoneInfo("Europe/Rome")
NAMES = re.compile(r"\b(ann|ben|cat|dan)\b", re.IGNORECASE)


async def _report(chat: ConsoleChat, who: str, kind: str, place: str) -> None:
    for line in (f"@{who} /report", f"@{who} {kind}", f"@{who} Broken, please come", f"@{who} {place}",
                 f"@{who} [1]", f"@{who} [1]"):
        await chat.say(line)


async def test_polls_and_reports_as_the_pa_sees_them(console_chat: ConsoleChat) -> None:
    say, app = console_chat.say, console_chat.app
    for name in ("ann", "ben", "cat", "dan"):
        await say(f"@{name} /start")
    # Poll 1: two of the four members vote (ben changes his mind); closed by hand.
    await say("@ann /poll Which project? | Playground | Garden | Bike lanes")
    await say("@ann /vote 1 1")
    await say("@ben /vote 1 2")
    await say("@ben /vote 1 1")
    assert "Poll #1 is closed" in await say("@ann /close 1")
    # Poll 2: an anonymous proposal every member agrees to.
    await say("@ann /propose We paint the bench green | anonymous")
    for name in ("ann", "ben", "cat", "dan"):
        await say(f"@{name} /vote 2 agree")
    assert "Proposal #2 is closed" in await say("@ann /close 2")
    # Poll 3: still open, one voter so far; its question would be a formula in a spreadsheet.
    await say("@ann /poll -1 or +1: clean-up on Sunday? | Yes | No | closes in 2 days")
    await say("@ben /vote 3 1")
    # Three reports, as if filed three days ago: #1 acknowledged after 6 hours and fixed after 30, #2 never
    # answered (overdue), #3 in progress after 10 hours.
    await _report(console_chat, "dan", "[1]", "45.07030, 7.68690")
    await _report(console_chat, "cat", "[3]", "45.08030, 7.69690")
    await _report(console_chat, "ben", "[2]", "45.09030, 7.70690")
    await say("@ann /status 1 acknowledged")
    await say("@ann /status 1 fixed")
    await say("@ann /status 3 in progress")
    now = datetime.now(UTC)
    t0 = now - timedelta(hours=72)
    filed = {1: t0, 2: t0 + timedelta(hours=1), 3: t0 + timedelta(hours=2)}
    changes = {(1, "acknowledged"): 6, (1, "fixed"): 30, (3, "in_progress"): 12}
    async with app.services.sessions.begin() as session:
        reports = {r.number: r for r in (await session.scalars(select(Report))).all()}
        for number, report in reports.items():
            last = max([hours for (n, _s), hours in changes.items() if n == number], default=None)
            report.created_at = filed[number]
            report.updated_at = t0 + timedelta(hours=last) if last is not None else filed[number]
            await session.execute(update(StatusChange).where(
                StatusChange.report_id == report.id, StatusChange.status == "submitted").values(at=filed[number]))
        for (number, status), hours in changes.items():
            await session.execute(update(StatusChange).where(
                StatusChange.report_id == reports[number].id, StatusChange.status == status).values(
                at=t0 + timedelta(hours=hours)))

    polls, reports_ = app.services.interlinkers["polls"], app.services.interlinkers["reports"]
    async with app.services.sessions() as session:
        initiative = await session.scalar(select(Initiative))
        assert initiative is not None
        users = dict((await session.execute(select(User.display_name, User.id))).all())
        closed_at = dict((await session.execute(select(Poll.number, Poll.closed_at))).all())
        closes_at = await session.scalar(select(Poll.closes_at).where(Poll.number == 3))
        receipts = {number: set((await session.scalars(select(Ballot.receipt).join(Poll).where(
            Poll.number == number, Ballot.superseded_at.is_(None)))).all()) for number in (1, 2)}
        scope = Scope((initiative.id,), t0 - timedelta(hours=1), now + timedelta(hours=1), ROME)
        with using_locale("en"):
            poll_panels = await polls.panels(session, scope)
            report_panels = await reports_.panels(session, scope)
            submitted = await reports_.panels(session, Scope(scope.initiative_ids, scope.since, scope.until, ROME,
                                                             {"status": "submitted"}))
            fixed = await reports_.panels(session, Scope(scope.initiative_ids, scope.since, scope.until, ROME,
                                                         {"status": "fixed"}))
            options = reports_.dashboard_filters()
            poll_digest = await polls.digest(session, Scope(scope.initiative_ids, scope.since, now, ROME))
            later = await polls.digest(session, Scope(scope.initiative_ids, now + timedelta(minutes=1),
                                                      now + timedelta(hours=2), ROME))
            report_digest = await reports_.digest(session, Scope(scope.initiative_ids, scope.since, now, ROME))
            quiet = await reports_.digest(session, Scope(scope.initiative_ids, now - timedelta(hours=1), now, ROME))
            when = {number: format_moment(moment, ROME) for number, moment in closed_at.items() if moment}
            assert closes_at is not None
            closes = format_moment(closes_at, ROME)
            filed_on = {number: format_moment(moment, ROME, year=True) for number, moment in filed.items()}
        files = {export.name: export for export in [*await polls.exports(session, initiative.id),
                                                    *await reports_.exports(session, initiative.id)]}
        weekly = await participants_by_week(session, [*polls.activity(), *reports_.activity()], scope)

    # --- polls: turnout of each, results of the closed ones -------------------------------------------------
    overview, proposal, project = poll_panels
    assert [(f.label, f.value) for f in overview.figures] == [
        ("Polls closed in the period", "2"), ("Open now", "1"),
        ("Average turnout of the polls closed in the period", "75%")]
    assert overview.chart is not None and overview.chart.description
    assert overview.chart == Chart("hbar", ("#1 Which project?", "#2 We paint the bench green",
                                            "#3 -1 or +1: clean-up on Sunday?"),
                                   (Series("Turnout (%)", (50.0, 100.0, 25.0)),), overview.chart.description)
    assert overview.table == Table(
        ("Poll", "Question", "Kind", "Status", "Voters", "Turnout", "Outcome"),
        (("#1", "Which project?", "single choice", "closed", "2", "50%", "“Playground” won"),
         ("#2", "We paint the bench green", "proposal", "closed", "4", "100%", "Agreed"),
         ("#3", "-1 or +1: clean-up on Sunday?", "single choice", "open", "1", "25%", "—")))
    assert proposal.title == "Proposal #2: We paint the bench green", "the latest closed first"
    assert [(f.label, f.value) for f in proposal.figures] == [("Voters", "4"), ("Turnout", "100%"),
                                                              ("Outcome", "Agreed")]
    assert proposal.chart is not None and proposal.chart.labels == ("Agree", "Abstain", "Disagree", "Block")
    assert proposal.chart.series == (Series("Votes", (4.0, 0.0, 0.0, 0.0)),)
    assert project.title == "Poll #1: Which project?"
    assert project.table == Table(("Option", "Votes"), (("Playground", "2"), ("Garden", "0"), ("Bike lanes", "0")))
    assert project.chart is not None and project.chart.description

    assert poll_digest == [
        f"Poll #1: Which project? — closed {when[1]}. “Playground” won (2 of 4 members voted).",
        f"Proposal #2: We paint the bench green — closed {when[2]}. Agreed (4 of 4 members voted).",
        f"Poll #3: -1 or +1: clean-up on Sunday? — open: 1 of 4 members voted (25%); closes {closes}.",
    ]
    assert later == [poll_digest[2]], "after the closings, only the open poll is news"

    # --- reports: figures, by status, by category, the list, the status filter ------------------------------
    totals, categories, listed = report_panels
    assert [(f.label, f.value) for f in totals.figures] == [
        ("New reports in the period", "3"), ("Open now", "2"), ("Fixed in the period", "1"),
        ("Median hours to acknowledge", "8"), ("Median hours to fix", "30")]
    assert totals.chart is not None and totals.chart.kind == "bar" and totals.chart.description
    assert totals.chart.labels == ("submitted", "in progress", "fixed")
    assert totals.chart.series == (Series("Reports", (1.0, 1.0, 1.0)),)
    assert totals.table == Table(("Status", "Reports"), (("submitted", "1"), ("in progress", "1"), ("fixed", "1")))
    assert categories.chart is not None and categories.chart.labels == (
        "Street lighting", "Road or pavement damage", "Litter and waste")
    assert categories.chart.series == (Series("submitted", (0.0, 0.0, 1.0)), Series("in progress", (0.0, 1.0, 0.0)),
                                       Series("fixed", (1.0, 0.0, 0.0)))
    assert categories.table == Table(
        ("Category", "submitted", "in progress", "fixed", "Total"),
        (("Street lighting", "0", "0", "1", "1"), ("Road or pavement damage", "0", "1", "0", "1"),
         ("Litter and waste", "1", "0", "0", "1")))
    assert listed.chart is None and listed.table == Table(
        ("Report", "Category", "Status", "Filed", "Hours to acknowledge", "Hours to fix"),
        (("#1", "Street lighting", "fixed", filed_on[1], "6", "30"),
         ("#2", "Litter and waste", "submitted", filed_on[2], "—", "—"),
         ("#3", "Road or pavement damage", "in progress", filed_on[3], "10", "—")))

    assert [(f.name, f.label) for f in options] == [("status", "Report status")]
    assert ("fixed", "fixed") in options[0].options and ("in_progress", "in progress") in options[0].options
    assert [f.value for f in submitted[0].figures] == ["1", "1", "0", "—", "—"]
    assert submitted[0].table == Table(("Status", "Reports"), (("submitted", "1"),))
    assert submitted[2].table is not None and [row[0] for row in submitted[2].table.rows] == ["#2"]
    assert [f.value for f in fixed[0].figures] == ["1", "0", "1", "6", "30"]
    assert fixed[1].table == Table(("Category", "fixed", "Total"), (("Street lighting", "1", "1"),))

    assert report_digest == [
        "3 new reports: Street lighting (1), Road or pavement damage (1), and Litter and waste (1).",
        "1 report has waited more than 48 hours for an answer: #2.",
        "Status changes: #3 in progress and #1 fixed.",
    ]
    assert quiet == ["1 report has waited more than 48 hours for an answer: #2."], "nothing new, one still waits"

    # --- exports: pseudonyms and receipts, never a name -----------------------------------------------------
    assert sorted(files) == ["poll-1-ballots.csv", "poll-1-ballots.json", "poll-2-ballots.csv",
                             "poll-2-ballots.json", "polls.csv", "reports-open311.json", "reports.csv"]
    for export in files.values():
        text = export.content.decode()
        assert not NAMES.search(text), f"{export.name} names someone"
        assert export.columns and export.title
        if export.media_type.startswith("text/csv"):
            assert text.endswith("\r\n") and "\r\n" in text.splitlines(keepends=True)[0]
    rows = list(csv.DictReader(io.StringIO(files["polls.csv"].content.decode())))
    ann = pseudonym(app.services.settings.secret, initiative.id, users["ann"])
    assert [(r["number"], r["status"], r["voters"], r["turnout_percent"], r["outcome"], r["winners"], r["created_by"])
            for r in rows] == [("1", "closed", "2", "50", "decided", "Playground", ann),
                               ("2", "closed", "4", "100", "passed", "", ann),
                               ("3", "open", "1", "25", "", "", ann)]
    assert rows[2]["question"] == "'-1 or +1: clean-up on Sunday?", "spreadsheet-safe"
    assert ann.startswith("P-")
    for number in (1, 2):
        document = json.loads(files[f"poll-{number}-ballots.json"].content)
        assert {ballot["id"] for ballot in document["ballots"]} == receipts[number]
        ballots = list(csv.reader(io.StringIO(files[f"poll-{number}-ballots.csv"].content.decode())))
        assert {row[0] for row in ballots[1:]} == receipts[number]
    assert json.loads(files["poll-2-ballots.json"].content)["poll"]["anonymous"] is True
    reports_rows = list(csv.DictReader(io.StringIO(files["reports.csv"].content.decode())))
    assert [(r["number"], r["status"], r["hours_to_acknowledge"], r["hours_to_fix"]) for r in reports_rows] == [
        ("1", "fixed", "6.0", "30.0"), ("2", "submitted", "", ""), ("3", "in_progress", "10.0", "")]
    requests = json.loads(files["reports-open311.json"].content)
    assert [(r["service_code"], r["status"]) for r in requests] == [
        ("streetlight", "closed"), ("waste", "open"), ("pothole", "open")]
    assert requests[0]["status_notes"] == "fixed" and requests[0]["requested_datetime"] == (
        t0.isoformat(timespec="seconds"))

    # --- participation: whoever voted, proposed or reported, each week --------------------------------------
    # Anonymous ballots follow nobody: each of the four counts apart from the named keys, in the week the
    # proposal began; named voters and reporters count once a week whatever they did.
    people: dict[object, set[str]] = {}
    for who, moment in (("ann", now), ("ben", now), *((f"anonymous {i}", now) for i in range(4)),
                        ("dan", filed[1]), ("cat", filed[2]), ("ben", filed[3])):
        people.setdefault(week_start(moment.astimezone(ROME).date()), set()).add(who)
    assert {week: count for week, count in weekly.items() if count} == {
        week: len(who) for week, who in people.items()}
