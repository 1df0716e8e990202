"""Scheduling as a group lives it: a date poll confirmed into an event, the invite parsed back field by
field, RSVPs within capacity, reminders in the group and privately (each fired once), the deadline's
automatic confirmation, the calendar feed over HTTP, and what the PA receives."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import icalendar
from sqlalchemy import select

from bot.config import Settings
from storage.models import Job, Outcome
from tests.conftest import ConsoleChat, altered, running_console


async def _jobs(chat: ConsoleChat, prefix: str) -> list[Job]:
    async with chat.app.services.sessions() as session:
        return list((await session.scalars(select(Job).where(Job.key.startswith(prefix)))).all())


async def _outcomes(chat: ConsoleChat) -> list[Outcome]:
    async with chat.app.services.sessions() as session:
        return list((await session.scalars(select(Outcome).order_by(Outcome.id))).all())


def _ics(said: str) -> icalendar.Calendar:
    path = re.search(r"\[event-\d+\.ics, \d+ bytes: (\S+)\]", said)
    assert path is not None, said
    return icalendar.Calendar.from_ical(Path(path.group(1)).read_bytes())


async def test_date_poll_to_event_with_invite_rsvp_and_changes(console_chat: ConsoleChat) -> None:
    say = console_chat.say
    await say("@ann /start")
    grid = await say("@ann /meet Team meeting | 2027-03-06 10:00 | 2027-03-07 15:00 | 2027-03-08 18:30 | 90 min")
    assert "Date poll #1: Team meeting" in grid and "1. Sat 6 Mar, 10:00 — yes 0" in grid
    assert "yes" in await say("@ben [2]")
    assert "if need be" in await say("@ben [2]")  # pressing again moves on: yes → if need be → no
    assert "Sun 7 Mar, 15:00: yes, Mon 8 Mar, 18:30: no" in await say("@cat /answer 1 maybe yes no")
    assert "there are 3" not in (wrong := await say("@cat /answer 1 yes"))
    assert "Answer each of the 3 times" in wrong
    assert "Only its creator or an organiser" in await say("@ben /confirm 1 2")

    confirmed = await say("@ann /confirm 1")  # the rule: most yes (cat's), then most if need be (ben's)
    assert "Event #1: Team meeting" in confirmed
    assert "Sun, 7 Mar 2027, 15:00–16:30 (Europe/Rome)" in confirmed
    invite = _ics(confirmed)
    assert invite["METHOD"] == "REQUEST"
    event = invite.walk("VEVENT")[0]
    uid = str(event["UID"])
    assert event["SUMMARY"] == "Team meeting" and int(event["SEQUENCE"]) == 0
    assert event.decoded("DTSTART") == datetime(2027, 3, 7, 15, 0, tzinfo=event.decoded("DTSTART").tzinfo)
    assert str(event["DTSTART"].params["TZID"]) == "Europe/Rome"
    assert invite.walk("VTIMEZONE"), "the zone travels with the invite"

    assert "going" in await say("@ben [1]")
    assert "maybe" in await say("@cat /rsvp 1 maybe")
    assert "#1 Team meeting" in await say("@ben /myevents")
    assert "#1 Team meeting" in await say("@dan /events")

    moved = await say("@ann /reschedule 1 2027-03-14 11:00")
    assert "Sun, 14 Mar 2027, 11:00–12:30" in moved
    assert "bot → ben: Event “Team meeting” is moved" in moved and "bot → cat:" in moved  # those who answered
    again = _ics(moved).walk("VEVENT")[0]
    assert str(again["UID"]) == uid and int(again["SEQUENCE"]) == 1

    cancelled = await say("@ann /cancelevent 1")
    assert "is cancelled" in cancelled and "bot → ben:" in cancelled
    gone = _ics(cancelled)
    assert gone["METHOD"] == "CANCEL" and str(gone.walk("VEVENT")[0]["STATUS"]) == "CANCELLED"
    assert int(gone.walk("VEVENT")[0]["SEQUENCE"]) == 2
    assert "is over or cancelled" in await say("@dan /rsvp 1 going")
    assert not await _jobs(console_chat, "scheduling:remind:"), "a cancelled event reminds nobody"

    kinds = [(o.kind, o.payload["result"].get("going")) for o in await _outcomes(console_chat)]
    assert kinds == [("event_confirmed", 0), ("event_rescheduled", 1), ("event_cancelled", 1)]


async def test_capacity_is_never_exceeded(console_chat: ConsoleChat) -> None:
    say = console_chat.say
    await say("@ann /event Bike repair | 2027-05-01 10:00 | 2h | Library | capacity 2")
    await say("@ben /rsvp 1 going")
    await say("@cat /rsvp 1 going")
    full = await say("@dan /rsvp 1 going")
    assert "Sorry, event #1 is full (2 going)" in full
    assert "maybe" in await say("@dan /rsvp 1 maybe")
    await say("@cat /rsvp 1 no")  # a place frees up
    assert "your answer is going" in await say("@dan /rsvp 1 going")


async def test_reminders_in_the_group_and_privately_each_once(console_chat: ConsoleChat) -> None:
    say = console_chat.say
    start = datetime.now(UTC) + timedelta(days=3)
    await say("@ann /start")
    await say(f"@ann /event Clean-up | {start.astimezone(console_chat.app.settings.tz):%Y-%m-%d %H:%M} | Park")
    await say("@ben /rsvp 1 going")
    await say("@cat /rsvp 1 no")
    (first,) = await _jobs(console_chat, "scheduling:remind:")
    assert abs(first.run_at - (start - timedelta(days=1))) < timedelta(minutes=1), "1 day before, by default"
    said = await console_chat.fire("scheduling:remind:")
    assert "bot: Reminder: Clean-up starts in 3 days" in said and "Where: Park" in said and "Going: 1." in said
    assert "bot → ben: Reminder: Clean-up" in said and "bot → cat" not in said  # only those going, privately
    (second,) = await _jobs(console_chat, "scheduling:remind:")
    assert abs(second.run_at - (start - timedelta(hours=1))) < timedelta(minutes=1), "then 1 hour before"
    assert await console_chat.app.services.jobs.run_due() == 0, "nothing fires twice"
    await console_chat.fire("scheduling:remind:")
    assert not await _jobs(console_chat, "scheduling:remind:")
    assert "is your own setting" in await say("@ben /settings privatereminders off")


async def test_deadline_confirms_the_best_time_and_recurring_events_report_each_occurrence(
        console_chat: ConsoleChat) -> None:
    say = console_chat.say
    await say("@ann /meet Assembly | 2027-06-05 10:00 | 2027-06-06 10:00 | closes 2027-06-01 18:00")
    await say("@ben /answer 1 maybe yes")
    await say("@cat /answer 1 yes yes")
    said = await console_chat.fire("scheduling:close:")
    assert "Event #1: Assembly" in said and "Sun, 6 Jun 2027, 10:00–12:00" in said

    weekly = await say("@ann /event Reading hour | every Saturday 16:00 | 1h | Library")
    assert "every Saturday" in weekly
    await say("@ben /rsvp 2 going")
    (held,) = await _jobs(console_chat, "scheduling:held:2")
    first_end = held.run_at
    await console_chat.fire("scheduling:held:2")
    (following,) = await _jobs(console_chat, "scheduling:held:2")
    assert following.run_at - first_end == timedelta(days=7) or following.run_at - first_end in (
        timedelta(days=7, hours=1), timedelta(days=6, hours=23)), "the next Saturday, 17:00 local"
    took_place = [o for o in await _outcomes(console_chat) if o.kind == "event_held"]
    assert len(took_place) == 1 and took_place[0].payload["result"]["going"] == 1


async def test_calendar_feed_is_served_and_revocable(database_url: str,
                                                     make_settings: Callable[..., Settings]) -> None:
    async with running_console(make_settings(database_url), http=True) as chat:
        app = chat.app
        await chat.say("@ann /event Open day; music, food | 2027-04-03 10:00 | 3h | Town hall, room 2")
        link = re.search(r"(http://\S+/ical/(\S+)\.ics)", await chat.say("@ann /calendar"))
        assert link is not None
        url = f"http://127.0.0.1:{app.http_server.port}/ical/{link.group(2)}.ics"
        assert "Only organisers" in await chat.say("@ben /calendar new")
        async with aiohttp.ClientSession() as client:
            async with client.get(url) as response:
                assert response.status == 200 and response.content_type == "text/calendar"
                feed = icalendar.Calendar.from_ical(await response.read())
            event = feed.walk("VEVENT")[0]
            assert str(event["SUMMARY"]) == "Open day; music, food"
            assert str(event["LOCATION"]) == "Town hall, room 2"
            async with client.get(url.replace(link.group(2), altered(link.group(2)))) as response:
                assert response.status == 404
            await chat.say("@ann /calendar off")
            async with client.get(url) as response:
                assert response.status == 404, "a revoked link stops working"


async def test_step_by_step_event_with_a_shared_place_and_date_poll(console_chat: ConsoleChat) -> None:
    """``/event`` and ``/meet`` alone ask one thing at a time; a wrong answer is said and asked again
    (nothing is lost); the place's point becomes a pin, the invite's GEO and what the PA receives."""
    say = console_chat.say
    assert "What is the event?" in await say("@ann /event")
    assert "When is it?" in await say("@ann Clean-up | with gloves")  # a "|" in a title is text
    assert "I could not read when it is" in await say("@ann next blue moon")
    assert "Where?" in await say("@ann 06.03.2027 10:00 | 3h")  # day first, as the groups write it
    assert "Last step" in await say("@ann Park gate, Via Roma 1 (45.07030, 7.68690)")
    said = await say("@ann 2 places | remind 2h")
    assert "Event #1: Clean-up / with gloves" in said
    assert "When: Sat, 6 Mar 2027, 10:00–13:00 (Europe/Rome)" in said and "Where: Park gate, Via Roma 1" in said
    assert "2 places left" in said
    assert "[location: Park gate, Via Roma 1 (45.07030, 7.68690)] https://www.openstreetmap.org/" in said
    vevent = _ics(said).walk("VEVENT")[0]
    assert (vevent["GEO"].latitude, vevent["GEO"].longitude) == (45.0703, 7.6869)
    assert str(vevent["LOCATION"]) == "Park gate, Via Roma 1"
    (remind,) = await _jobs(console_chat, "scheduling:remind:")
    assert remind.params["at"].startswith("2027-03-06T07:00"), "2 hours before 10:00 in Rome is 07:00 UTC"
    (confirmed,) = [o for o in await _outcomes(console_chat) if o.kind == "event_confirmed"]
    assert confirmed.payload["result"]["point"] == [45.0703, 7.6869]
    assert await say("@ann 2 places") == "", "the dialog is over: the group's words are not answers"

    # The date poll, with the optional step declined by its button; another member's words do not count.
    await say("@ben /meet")
    await say("@ben Team meeting")
    assert "at least two times" in await say("@ben Sat 10:00")
    assert "Last step" in await say("@ben 2027-03-06 10:00 | 2027-03-07 15:00")
    await say("@cat 90 min")  # cat is not in ben's dialog
    said = await say("@ben [1]")
    assert "Date poll #1: Team meeting" in said and "1. Sat 6 Mar, 10:00" in said and "2. Sun 7 Mar, 15:00" in said
    await say("@ben /meet")
    await say("@ben /cancel")
    assert await say("@ben Another meeting") == "", "after /cancel the group's words are not answers"
