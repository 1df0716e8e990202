"""What a PA officer sees of volunteering and scheduling, from data made in the chat: the dashboard's
figures and tables (numbers exact), the digest's lines, the files (people only by pseudonym, never by
name), and participation counted from each Interlinker's activity. On SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
from sqlalchemy import select, update

from bot.officers import pseudonym
from bot.panels import Export, Panel, Scope, participants_by_week, week_start
from interlinkers.volunteers._models import Shift
from storage.models import Initiative, Job, User
from tests.conftest import ConsoleChat

PSEUDONYM = re.compile(r"P-[a-z2-7]{8}")
NAMES = {"ann", "ben", "cat", "dan", "eve", "fay", "hal"}


def _day(moment: datetime) -> str:
    """As ``format_moment`` writes a day in British English: "Fri 27 Nov"."""
    return f"{moment:%a} {moment.day} {moment:%b}"


def _figures(panel: Panel) -> dict[str, str]:
    return {figure.label: figure.value for figure in panel.figures}


def _rows(export: Export) -> list[dict[str, str]]:
    assert export.content.decode("utf-8").count("\r\n") == export.content.decode("utf-8").count("\n")
    rows = list(csv.DictReader(io.StringIO(export.content.decode("utf-8"))))
    assert rows and [name for name, _doc in export.columns] == list(rows[0]), "every column documented"
    return rows


def _no_names(export: Export) -> None:
    cells = {cell for row in csv.reader(io.StringIO(export.content.decode("utf-8"))) for cell in row}
    assert not cells & NAMES, f"a name in {export.filename}"


async def _ids(chat: ConsoleChat) -> tuple[int, dict[str, int]]:
    async with chat.app.services.sessions() as session:
        initiative = await session.scalar(select(Initiative.id))
        users = {name: user_id for name, user_id in (await session.execute(select(User.display_name, User.id))).all()}
    assert initiative is not None
    return initiative, users


async def test_volunteering_on_the_dashboard_in_the_digest_and_in_files(console_chat: ConsoleChat) -> None:
    say = console_chat.say
    tz = console_chat.app.settings.tz
    now = datetime.now(UTC).replace(microsecond=0)
    soon = (now + timedelta(days=3)).astimezone(tz)
    later = (now + timedelta(days=4)).astimezone(tz)
    await say("@ann /start")
    await say(f"@ann /shift Food bank | {soon:%Y-%m-%d} 09:00-12:00 | 3 | Via Roma 1")
    await say(f"@ann /shift Park clean-up | {soon:%Y-%m-%d} 14:00-16:00 | 2")
    await say(f"@ann /shift Sorting | {later:%Y-%m-%d} 15:00-17:00 | 5")
    await say(f"@ann /shift Extra | {later:%Y-%m-%d} 18:00-19:00 | 4")
    for line in ("@ben /signup 1", "@cat /signup 1", "@dan /signup 2", "@eve /signup 2", "@ben /signup 3"):
        await say(line)
    assert "waiting list" in await say("@fay /signup 2")
    assert "is cancelled" in await say("@ann /cancelshift 4")
    # Shift #1 happens now: ben checks in, cat does not come; at the end ben has served 150 minutes.
    async with console_chat.app.services.sessions.begin() as session:
        first = await session.scalar(select(Shift).where(Shift.number == 1))
        assert first is not None
        first.starts_at, first.ends_at = now - timedelta(minutes=30), now + timedelta(hours=2, minutes=30)
        await session.execute(update(Job).where(Job.key == f"volunteers:end:{first.id}").values(run_at=first.ends_at))
        code = first.code
    assert "Checked in" in await say(f"@ben /checkin {code}")
    await console_chat.fire(f"volunteers:end:{first.id}")  # the clock jumps 2.5 hours, for shift #1 alone

    volunteers = console_chat.app.services.interlinkers["volunteers"]
    initiative, users = await _ids(console_chat)
    async with console_chat.app.services.sessions() as session:
        (panel,) = await volunteers.panels(session, Scope((initiative,), now - timedelta(days=1),
                                                          now + timedelta(days=10), tz))
        assert _figures(panel) == {"Shifts": "3", "Places filled": "5 of 10", "Fill rate": "50%",
                                   "Hours served": "2.5", "Volunteers": "4", "Cancelled shifts": "1"}
        assert panel.table is not None and panel.chart is not None
        assert panel.table.columns == ("Shift", "Title", "When", "Places", "Taken", "Free", "Waiting", "Came",
                                       "Hours served")
        assert [(row[:2] + row[3:]) for row in panel.table.rows] == [
            ("#1", "Food bank", "3", "2", "1", "0", "1", "2.5"),
            ("#2", "Park clean-up", "2", "2", "0", "1", "—", "—"),
            ("#3", "Sorting", "5", "1", "4", "0", "—", "—")]
        assert panel.table.rows[2][2] == f"{later:%a}, {later.day} {later:%b} {later.year}, 15:00–17:00"
        assert panel.chart.labels == ("#1 Food bank", "#2 Park clean-up", "#3 Sorting")
        assert [(s.name, s.values) for s in panel.chart.series] == [
            ("Places taken", (2.0, 2.0, 1.0)), ("Places free", (1.0, 0.0, 4.0))], "the table's numbers"
        assert panel.chart.description
        (nothing,) = await volunteers.panels(session, Scope((initiative,), now + timedelta(days=30),
                                                            now + timedelta(days=40), tz))
        assert nothing.empty and not nothing.figures and nothing.table is None

        lines = await volunteers.digest(session, Scope((initiative,), now - timedelta(days=1),
                                                       now + timedelta(hours=3), tz))
        assert lines == [f"Shift #3 Sorting, {_day(later)}, 15:00: 4 of 5 places free",
                         "6 new sign-ups for volunteer shifts",
                         "Shift #1 Food bank is over: 1 of 2 came, 2.5 hours served"]
        assert await volunteers.digest(session, Scope((initiative,), now + timedelta(days=20),
                                                      now + timedelta(days=21), tz)) == []

        shifts, signups = await volunteers.exports(session, initiative)
        week = await participants_by_week(session, volunteers.activity(), Scope(
            (initiative,), now - timedelta(days=1), now + timedelta(days=1), tz))
    assert (shifts.name, shifts.media_type, signups.name) == ("shifts.csv", "text/csv; charset=utf-8",
                                                              "shift-signups.csv")
    assert [(row["shift"], row["status"], row["places"], row["taken"], row["waiting"], row["came"], row["no_shows"],
             row["minutes_served"]) for row in _rows(shifts)] == [
        ("1", "done", "3", "2", "0", "1", "1", "150"), ("2", "open", "2", "2", "1", "0", "0", "0"),
        ("3", "open", "5", "1", "0", "0", "0", "0"), ("4", "cancelled", "4", "0", "0", "0", "0", "0")]
    rows = _rows(signups)
    assert all(PSEUDONYM.fullmatch(row["person"]) for row in rows)
    ben = pseudonym(console_chat.app.settings.secret, initiative, users["ben"])
    assert [(row["shift"], row["person"] == ben, row["state"], row["attended"], row["minutes"]) for row in rows] == [
        ("1", True, "in", "yes", "150"), ("1", False, "in", "no", "0"), ("2", False, "in", "", ""),
        ("2", False, "in", "", ""), ("2", False, "waiting", "", ""), ("3", True, "in", "", "")]
    assert rows[0]["checked_in_utc"] and not rows[1]["checked_in_utc"]
    for export in (shifts, signups):
        _no_names(export)
        assert dict(export.columns) and export.title
    this_week = week_start(now.astimezone(tz).date())
    assert week[this_week] == 5, "ben, cat, dan, eve and fay signed up (ben also checked in)"
    assert sum(week.values()) == 5


def _saturdays(since: datetime, until: datetime, tz: ZoneInfo) -> list[datetime]:
    """The 16:00s of the Saturdays in [since, until), local."""
    day = since.astimezone(tz).replace(hour=16, minute=0, second=0, microsecond=0)
    found = []
    while day < until:
        if day.weekday() == 5 and day >= since:
            found.append(day)
        day = (day + timedelta(days=1)).replace(hour=16)
    return found


async def test_events_and_date_polls_on_the_dashboard_in_the_digest_and_in_files(console_chat: ConsoleChat) -> None:
    say = console_chat.say
    tz = console_chat.app.settings.tz
    now = datetime.now(UTC).replace(microsecond=0)
    clean = (now + timedelta(days=2)).astimezone(tz).replace(hour=10, minute=0, second=0)
    concert = (now + timedelta(days=3)).astimezone(tz)
    far = (now + timedelta(days=10)).astimezone(tz)
    dinner = (now + timedelta(days=12)).astimezone(tz)
    await say("@ann /start")
    await say(f"@ann /event Clean-up | {clean:%Y-%m-%d} 10:00 | 2h | Park | capacity 5")
    assert "every Saturday" in await say("@ann /event Reading hour | every Saturday 16:00 | 1h | Library")
    await say(f"@ann /event Concert | {concert:%Y-%m-%d} 20:00")
    assert "is cancelled" in await say("@ann /cancelevent 3")
    for line in ("@ben /rsvp 1 going", "@cat /rsvp 1 maybe", "@dan /rsvp 1 no", "@ben /rsvp 2 going",
                 "@cat /rsvp 2 going"):
        await say(line)
    await say(f"@ann /meet Assembly | {far:%Y-%m-%d} 10:00 | {far + timedelta(days=1):%Y-%m-%d} 10:00")
    await say("@ben /answer 1 yes no")
    await say("@cat /answer 1 maybe yes")
    await say(f"@ann /meet Dinner | {dinner:%Y-%m-%d} 19:00 | {dinner:%Y-%m-%d} 20:00")
    assert "Event #4: Dinner" in await say("@ann /confirm 2 1")
    await say(f"@ann /shift Food bank | {clean:%Y-%m-%d} 14:00-16:00 | 3")
    await say("@hal /signup 1")

    scheduling = console_chat.app.services.interlinkers["scheduling"]
    volunteers = console_chat.app.services.interlinkers["volunteers"]
    initiative, users = await _ids(console_chat)
    since, until = now - timedelta(days=1), now + timedelta(days=15)
    readings = _saturdays(now, until, tz)  # the series starts at the first Saturday after its planning
    async with console_chat.app.services.sessions() as session:
        events, polls = await scheduling.panels(session, Scope((initiative,), since, until, tz))
        assert _figures(events) == {"Events held or planned": str(2 + len(readings)), "Going": "3", "Maybe": "1",
                                    "Not going": "1", "Cancelled events": "1"}
        assert events.table is not None and events.chart is not None
        assert events.table.columns == ("Event", "Title", "When", "Dates in the period", "Place", "Going", "Maybe",
                                        "Not going", "Places")
        rows = {row[0]: row[1:2] + row[3:] for row in events.table.rows}
        assert rows == {"#1": ("Clean-up", "1", "Park", "1", "1", "1", "5"),
                        "#2": ("Reading hour", str(len(readings)), "Library", "2", "0", "0", "—"),
                        "#4": ("Dinner", "1", "", "0", "0", "0", "—")}
        assert next(row[2] for row in events.table.rows if row[0] == "#2").startswith("every Saturday")
        chart = dict(zip(events.chart.labels, zip(*(s.values for s in events.chart.series), strict=True),
                         strict=True))
        assert [s.name for s in events.chart.series] == ["Going", "Maybe", "Not going"]
        assert chart == {"#1 Clean-up": (1.0, 1.0, 1.0), "#2 Reading hour": (2.0, 0.0, 0.0),
                         "#4 Dinner": (0.0, 0.0, 0.0)}, "the table's numbers"
        assert _figures(polls) == {"Still open": "1", "Confirmed as events": "1", "Closed without a date": "0"}
        assert polls.table is not None and polls.table.rows == (
            ("#1", "Assembly", "open", "2", "2", "—"), ("#2", "Dinner", "confirmed", "2", "0", "—"))
        empty_events, empty_polls = await scheduling.panels(session, Scope((initiative,), now - timedelta(days=9),
                                                                           now - timedelta(days=8), tz))
        assert empty_events.empty and empty_polls.empty and empty_events.table is None

        lines = await scheduling.digest(session, Scope((initiative,), now - timedelta(days=1), now, tz))
        reading = readings[0]
        expected = [(clean, f"Event #1 Clean-up, {_day(clean)}, 10:00: 1 going, 1 maybe · 4 places left"),
                    (reading, f"Event #2 Reading hour, {_day(reading)}, 16:00: 2 going, 0 maybe")]
        assert lines == [line for _when, line in sorted(expected)] + [
            "Date poll #1 Assembly: still open, 2 people answered"]

        calendar, table, answers = await scheduling.exports(session, initiative)
        week = await participants_by_week(session, [*scheduling.activity(), *volunteers.activity()], Scope(
            (initiative,), now - timedelta(days=1), now + timedelta(days=1), tz))
    assert (calendar.name, calendar.media_type) == ("events.ics", "text/calendar; charset=utf-8")
    assert (table.name, answers.name) == ("events.csv", "event-rsvps.csv")
    parsed = icalendar.Calendar.from_ical(calendar.content)
    vevents = {str(event["SUMMARY"]): event for event in parsed.walk("VEVENT")}
    assert set(vevents) == {"Clean-up", "Reading hour", "Concert", "Dinner"}
    assert str(vevents["Concert"]["STATUS"]) == "CANCELLED" and "RRULE" in vevents["Reading hour"]
    assert [(row["event"], row["status"], row["going"], row["maybe"], row["not_going"], row["capacity"])
            for row in _rows(table)] == [("1", "scheduled", "1", "1", "1", "5"), ("2", "scheduled", "2", "0", "0", ""),
                                         ("3", "cancelled", "0", "0", "0", ""), ("4", "scheduled", "0", "0", "0", "")]
    assert _rows(table)[1]["recurrence"] == "FREQ=WEEKLY;BYDAY=SA"
    said = _rows(answers)
    assert all(PSEUDONYM.fullmatch(row["person"]) for row in said)
    secret = console_chat.app.settings.secret
    by = {pseudonym(secret, initiative, users[name]): name for name in ("ben", "cat", "dan")}
    assert sorted((row["event"], by[row["person"]], row["answer"]) for row in said) == [
        ("1", "ben", "going"), ("1", "cat", "maybe"), ("1", "dan", "not_going"), ("2", "ben", "going"),
        ("2", "cat", "going")]
    for export in (table, answers):
        _no_names(export)
    assert not any(name.encode() in calendar.content for name in ("ben", "cat", "dan", "hal"))
    assert week[week_start(now.astimezone(tz).date())] == 4, "ben, cat and dan answered; hal signed up"
