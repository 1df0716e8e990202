"""Volunteer shifts as organisers and volunteers live them: places never exceeded (50 people pressing at
once on two workers), a first-come waiting line whose first person is offered a freed place privately and
has a time limit to take it, reminders to those signed up, organisers adding and removing people, and
shifts planned for a day or a repetition. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import icalendar
from sqlalchemy import select, update

from bot.app import App
from bot.config import Settings
from bot.events import ButtonPress, ChatRef, Command, Notice, Reply, UserRef
from bot.summary import render
from interlinkers.volunteers._models import IN, WAITING, Shift, Signup
from storage.models import Job, Outcome, User
from storage.outbox import read_outcomes
from tests.conftest import ConsoleChat
from tests.test_concurrency import Screen, ScreenAdapter, _stop, _until, _update, _workers
from tests.test_core import RecordingAdapter, user


async def _signups(chat: ConsoleChat) -> list[tuple[str, str]]:
    """(state, name) in line order."""
    async with chat.app.services.sessions() as session:
        rows = await session.execute(select(Signup.state, User.display_name).join(User, User.id == Signup.user_id)
                                     .order_by(Signup.queued_at, Signup.id))
        return [(state, name) for state, name in rows.all()]


async def test_a_full_shift_its_waiting_line_and_a_freed_place(console_chat: ConsoleChat) -> None:
    say = console_chat.say
    await say("@ann /start")
    card = await say("@ann /shift Food bank | 2027-03-06 09:00-12:00 | 3 | Via Roma 1 | sorting")
    assert "Shift #1: Food bank — sorting" in card and "0 of 3 places taken, 3 free" in card
    assert "[1] Sign up  [2] Withdraw" in card
    assert "You are signed up for shift #1" in await say("@ben [1]")
    await say("@cat /signup 1")
    await say("@dan /signup 1")
    assert "you are number 1 on its waiting list" in await say("@eve /signup 1")
    assert "you are number 2 on its waiting list" in await say("@fay [1]")
    assert "already number 2" in await say("@fay /signup 1"), "pressing twice does not queue twice"
    assert "number 1 on the waiting list" in await say("@eve /myshifts")
    freed = await say("@ben /withdraw 1")
    assert "You gave up your place on shift #1" in freed
    assert "bot → eve: A place is free on shift #1 “Food bank”" in freed and "[1] Take the place" in freed
    assert "bot → fay" not in freed, "only the first in line is offered the place"
    assert await _signups(console_chat) == [("in", "cat"), ("in", "dan"), ("offered", "eve"), ("waiting", "fay")]
    assert "Full: 3 of 3 places taken · 1 waiting" in await say("@gus /shifts"), "an offered place is held"
    assert "The place on shift #1 is yours" in await say("@eve [1]")  # "Take the place", in her private chat
    roster = await say("@ann /roster 1")
    assert "1. cat\n     2. dan\n     3. eve\n     Waiting list:\n       1. fay" in roster
    assert not [job for job in await _jobs(console_chat) if job.key.startswith("volunteers:offer:")], \
        "a confirmed offer's time limit is gone"


async def test_an_offer_not_taken_in_time_passes_to_the_next_in_line(console_chat: ConsoleChat) -> None:
    say = console_chat.say
    await say("@ann /start")
    await say("@ann /settings confirmhours 6")
    await say("@ann /shift Library hours | 2027-04-03 15:00-18:00 | 1")
    await say("@ben /signup 1")
    await say("@cat /signup 1")
    await say("@dan /signup 1")
    offered = await say("@ben /withdraw 1")
    assert "bot → cat: A place is free" in offered
    (lapse,) = [job for job in await _jobs(console_chat) if job.key.startswith("volunteers:offer:")]
    assert abs(lapse.run_at - (datetime.now(UTC) + timedelta(hours=6))) < timedelta(minutes=1), "confirmhours"
    passed = await console_chat.fire("volunteers:offer:")
    assert "bot → cat: You did not confirm in time" in passed
    assert "bot → dan: A place is free on shift #1" in passed
    assert await _signups(console_chat) == [("offered", "dan")]
    assert "not yours" in await say("@cat [1]"), "cat's old button no longer takes the place"
    assert await console_chat.app.services.jobs.run_due() == 0


async def test_reminders_organisers_and_shifts_for_a_day_or_a_repetition(console_chat: ConsoleChat) -> None:
    say = console_chat.say
    await say("@ann /start")
    tz = console_chat.app.settings.tz
    start = (datetime.now(UTC) + timedelta(days=3)).astimezone(tz)
    await say(f"@ann /shift Clean-up | {start:%Y-%m-%d} {start:%H}:00-{(start + timedelta(hours=2)):%H}:00 | 2")
    await say("@ben /signup 1")
    await say("@cat /shifts")
    await say("@dan /shifts")
    assert "Only organisers can use /addvolunteer" in await say("@ben /addvolunteer 1 cat")
    assert "cat has a place on shift #1" in await say("@ann /addvolunteer 1 cat")
    assert "is full (2 places)" in await say("@ann /addvolunteer 1 dan")
    reminded = await console_chat.fire("volunteers:remind:")
    assert "bot → ben: Reminder: your shift #1 “Clean-up” starts in 3 days" in reminded
    assert "bot → cat: Reminder" in reminded and "Send /withdraw 1" in reminded
    (second,) = [job for job in await _jobs(console_chat) if job.key.startswith("volunteers:remind:")]
    assert second.run_at.astimezone(tz).hour == (start - timedelta(hours=2)).hour, "then 2 hours before"
    removed = await say("@ann /removevolunteer 1 ben")
    assert "ben is no longer on shift #1" in removed and "bot → ben: An organiser took you off shift #1" in removed

    several = await say("@ann /shift Market stall | 2027-03-07 09:00-12:00, 12:00-15:00 | 2 | Piazza")
    assert "2 shifts planned:" in several and "#2 Sun, 7 Mar 2027, 09:00–12:00" in several
    assert "#3 Sun, 7 Mar 2027, 12:00–15:00" in several
    night = await say("@ann /shift Night watch | 2027-03-06 22:00-02:00 | 2")
    assert "Sat, 6 Mar 2027, 22:00–02:00" in night
    until = (datetime.now(UTC) + timedelta(days=230)).astimezone(tz)  # always crosses a change of clocks
    series = await say(f"@ann /shift Park | first Saturday of the month 09:00-11:00 until {until:%Y-%m-%d} | 4")
    assert "shifts planned:" in series, series
    async with console_chat.app.services.sessions() as session:
        shifts = (await session.scalars(select(Shift).where(Shift.title == "Park").order_by(Shift.number))).all()
        outcomes = (await session.scalars(select(Outcome).where(Outcome.kind == "shift_planned"))).all()
    assert 6 <= len(shifts) <= 8
    assert {shift.starts_at.astimezone(tz).strftime("%a %H:%M") for shift in shifts} == {"Sat 09:00"}
    assert len({shift.starts_at.astimezone(UTC).hour for shift in shifts}) == 2, "09:00 local in winter and summer"
    assert len(outcomes) == 4 + len(shifts), "the PA hears of every shift planned"
    many = await say("@ann /shift Every day | every day 09:00-10:00 until 2027-06-30 | 2")
    assert "12 shifts planned:" in many and "these are the next ones; plan the rest later" in many
    assert "Write the hours as a range" in await say("@ann /shift X | tomorrow 09:00 | 2")
    assert "number of places" in await say("@ann /shift X | 2027-03-06 09:00-12:00 | none")


async def _jobs(chat: ConsoleChat) -> list[Job]:
    async with chat.app.services.sessions() as session:
        return list((await session.scalars(select(Job))).all())


async def test_fifty_people_pressing_at_once_never_exceed_the_places(
    database_url: str, make_settings: Callable[..., Settings]
) -> None:
    """50 presses of "Sign up" at the same instant on two workers (one on SQLite): exactly 6 places taken,
    44 waiting, each once, numbered 1 to 44 in the order they were let in."""
    screen = Screen()
    settings = make_settings(database_url)
    apps = await _workers(settings, [ScreenAdapter(screen), ScreenAdapter(screen)])
    try:
        await apps[0].handle(_update(user("ann"), Command("shift", "Food bank | 2027-03-06 09:00-12:00 | 6")))
        await _until(lambda: any(isinstance(m, Reply) and m.key for _c, m in screen.order))
        card = next(m for _c, m in screen.order if isinstance(m, Reply) and m.key)
        press = card.buttons[0].payload
        presses = [_update(user(f"v{i:02}"), ButtonPress(press)) for i in range(50)]
        await asyncio.gather(*(apps[i % len(apps)].handle(u) for i, u in enumerate(presses)))
        async with apps[0].sessions() as session:
            rows = (await session.scalars(select(Signup).order_by(Signup.queued_at, Signup.id))).all()
        assert len(rows) == 50, "each person once"
        assert sum(1 for row in rows if row.state == IN) == 6
        waiting = [row for row in rows if row.state == WAITING]
        assert len(waiting) == 44
        assert [row.id for row in waiting] == sorted(row.id for row in waiting), "the line keeps arrival order"
        assert all(row.id < min(w.id for w in waiting) for row in rows if row.state == IN), \
            "the six with places came before everyone waiting"
    finally:
        await _stop(apps)


async def _move_shift(chat: ConsoleChat, number: int, starts: datetime, ends: datetime) -> None:
    """The shift happens now: its times moved in the store (with its end job), as a clock would move."""
    async with chat.app.services.sessions.begin() as session:
        shift = await session.scalar(select(Shift).where(Shift.number == number))
        assert shift is not None
        shift.starts_at, shift.ends_at = starts, ends
        await session.execute(update(Job).where(Job.key == f"volunteers:end:{shift.id}").values(run_at=ends))


async def test_check_in_no_shows_hours_and_what_the_pa_reads(console_chat: ConsoleChat) -> None:
    """The organiser gets the code privately; volunteers check in with it (a wrong or foreign code does
    nothing); at the end the one who did not come is a no-show, hours count from check-in; an organiser's
    later confirmation is a correction the PA sees; the roster CSV is formula-safe; the PA summary and the
    monthly figures carry the hours; /forgetme keeps them, without the name."""
    say = console_chat.say
    await say("@ann /start")
    await say("@ann /shift Food bank | 2027-03-06 09:00-12:00 | 3 | Via Roma 1")
    await say("@ben /signup 1")
    await say("@-sum /signup 1")
    await say("@dan /signup 1")
    coded = await say("@ann /checkincode 1")
    assert "I sent you the check-in code privately." in coded
    code = coded.split("bot → ann: Check-in code for shift #1 “Food bank” (")[1].split("): ")[1][:6]
    assert code.isdigit() and "/checkin" not in await say("@ben /shifts"), "the group never sees the code"
    assert "No shift of yours is open for check-in" in await say(f"@ben /checkin {code}"), "not yet: March"
    now = datetime.now(UTC).replace(microsecond=0)
    await _move_shift(console_chat, 1, now - timedelta(minutes=30), now + timedelta(hours=2, minutes=30))
    wrong = "000000" if code != "000000" else "111111"
    assert "No shift of yours is open for check-in" in await say(f"@ben /checkin {wrong}")
    assert "No shift of yours is open" in await say(f"@eve /checkin {code}"), "only those signed up"
    assert "Checked in for shift #1 “Food bank”" in await say(f"@ben /checkin {code}")
    assert "Checked in" in await say(f"@-sum /checkin {code}")
    await console_chat.fire("volunteers:end:")  # the end comes (the clock jumps 2.5 hours)
    async with console_chat.app.services.sessions() as session:
        rows = {name: (attended, minutes) for attended, minutes, name in (await session.execute(
            select(Signup.attended, Signup.minutes, User.display_name).join(User, User.id == Signup.user_id))).all()}
        done = await session.scalar(select(Outcome).where(Outcome.kind == "shift_done"))
    assert rows == {"ben": (True, 150), "-sum": (True, 150), "dan": (False, 0)}, "from check-in to the end"
    assert done is not None and (done.payload["result"]["filled"], done.payload["result"]["attended"],
                                 done.payload["result"]["no_shows"], done.payload["result"]["hours"]) == (3, 2, 1, 5.0)
    assert "1 volunteer confirmed as present at shift #1" in await say("@ann /attended 1 dan")
    async with console_chat.app.services.sessions() as session:
        corrected = await session.scalar(select(Outcome).where(Outcome.kind == "shift_corrected"))
    assert corrected is not None and corrected.payload["result"]["hours"] == 8.0, "dan: the whole shift"
    sheet = await say("@ann /roster 1 csv")
    path = sheet.split("bytes: ")[1].split("]")[0]
    text = await asyncio.to_thread(Path(path).read_text)
    assert "'-sum" in text and ",-sum" not in text, "a name that looks like a formula is defused"
    await console_chat.app.services.outbox.deliver_due()
    summary = render(await read_outcomes(console_chat.app.pa_sessions, None), "text", console_chat.app.settings.tz)
    assert "volunteer shift over" in summary and "3 signed up, 2 came, 5 hours served" in summary
    assert "attendance at a shift corrected" in summary and "3 signed up, 3 came, 8 hours served" in summary
    # The month's figures, as the job on the first of the next month records them.
    async with console_chat.app.services.sessions.begin() as session:
        await session.execute(update(Job).where(Job.key.startswith("volunteers:month:")).values(
            run_at=datetime.now(UTC)))
    month_start = now.astimezone(console_chat.app.settings.tz).replace(day=1)
    await _move_shift(console_chat, 1, month_start - timedelta(days=2), month_start - timedelta(days=2, hours=-3))
    await console_chat.app.services.jobs.run_due()
    async with console_chat.app.services.sessions() as session:
        month = await session.scalar(select(Outcome).where(Outcome.kind == "volunteering_month"))
    assert month is not None and month.payload["result"]["volunteers"] == 3 and month.payload["result"]["hours"] == 8.0
    assert month.payload["result"]["fill_rate"] == 1.0 and month.payload["result"]["no_show_rate"] == 0.0
    await say("@ben /forgetme")
    forget = await say("@ben /forgetme confirm")
    assert forget
    async with console_chat.app.services.sessions() as session:
        kept = (await session.execute(select(Signup.user_id, Signup.minutes))).all()
    assert sorted(minutes for _user, minutes in kept) == [150, 150, 180], "the hours stay counted"
    assert sum(1 for user_id, _minutes in kept if user_id is None) == 1, "ben's row no longer names him"


async def test_swap_help_wanted_and_the_warning_a_day_ahead(console_chat: ConsoleChat) -> None:
    say = console_chat.say
    await say("@ann /start")
    tz = console_chat.app.settings.tz
    start = (datetime.now(UTC) + timedelta(days=5)).astimezone(tz)
    await say(f"@ann /shift Clean-up | {start:%Y-%m-%d} 09:00-11:00 | 3 | Park")
    await say("@ben /signup 1")
    assert "You have no place on shift #1 to offer" in await say("@cat /swap 1")
    offer = await say("@ben /swap 1")
    assert "ben offers their place on shift #1" in offer and "[1] Take it over" in offer
    assert "This is your own place." in await say("@ben [1]")
    taken_over = await say("@cat [1]")
    assert "The place on shift #1 is yours, taken over from ben" in taken_over
    assert "bot → ben: cat took over your place on shift #1" in taken_over
    assert "taken over already" in await say("@dan [1]"), "one taker only"
    assert "2. " not in (roster := await say("@ann /roster 1")) and "1. cat (took over from ben)" in roster
    called = await say("@ann /needhelp 1")
    assert "Help wanted: shift #1 “Clean-up”" in called and "needs 2 more" in called and "[1] Sign up" in called
    assert "You are signed up for shift #1" in await say("@dan [1]")
    warned = await console_chat.fire("volunteers:underfilled:")
    assert "bot → ann: Shift #1 “Clean-up”" in warned and "still has 1 of 3 places free" in warned


async def test_a_volunteers_own_calendar_of_shifts(database_url: str, make_settings: Callable[..., Settings]) -> None:
    """``/myshifts calendar`` only in a private chat; the feed holds the shifts the person has a place on, in
    every group, and stops when revoked or when they are forgotten."""
    adapter = RecordingAdapter()
    app = App(make_settings(database_url), adapters=[adapter], http=True)
    await app.start()
    try:
        group, other = ChatRef("test", "g1", title="Food bank"), ChatRef("test", "g2", title="Library")
        private = ChatRef("test", "ben-private", title="ben", is_private=True)
        ben = user("ben")

        async def say(chat: ChatRef, who: UserRef, command: str, args: str) -> str:
            before = len(adapter.sent)
            await app.handle(_update(who, Command(command, args), chat=chat))
            await _until(lambda: len(adapter.sent) > before)
            return "\n".join(m.text for _c, m in adapter.sent[before:] if isinstance(m, Reply | Notice))

        await say(group, user("ann"), "shift", "Sorting | 2027-03-06 09:00-12:00 | 2 | Via Roma 1 | sorting")
        await say(other, user("cat"), "shift", "Reading hour | 2027-03-10 17:00-18:00 | 1")
        await say(other, user("cat"), "shift", "Not mine | 2027-03-11 17:00-18:00 | 1")
        await say(group, ben, "signup", "1")
        await say(other, ben, "signup", "1")
        assert "ask for it in a private chat" in await say(group, ben, "myshifts", "calendar")
        link = re.search(r"/ical/shifts/(\S+)\.ics", await say(private, ben, "myshifts", "calendar"))
        assert link is not None
        url = f"http://127.0.0.1:{app.http_server.port}/ical/shifts/{link.group(1)}.ics"
        async with aiohttp.ClientSession() as client:
            async with client.get(url) as response:
                assert response.status == 200 and response.content_type == "text/calendar"
                calendar = icalendar.Calendar.from_ical(await response.read())
            titles = sorted(str(event["SUMMARY"]) for event in calendar.walk("VEVENT"))
            assert titles == ["Reading hour", "Sorting"], "ben's shifts in both groups, no others"
            sorting = next(e for e in calendar.walk("VEVENT") if str(e["SUMMARY"]) == "Sorting")
            assert str(sorting["LOCATION"]) == "Via Roma 1" and sorting["DTSTART"].dt.hour == 9
            assert b"ann" not in await (await client.get(url)).read(), "nobody's names"
            assert "already" in await say(private, ben, "myshifts", "calendar")
            await say(private, ben, "myshifts", "calendar off")
            async with client.get(url) as response:
                assert response.status == 404, "a revoked link stops working"
    finally:
        await app.stop()


async def test_help_lists_every_command_in_one_message_and_explains_one(console_chat: ConsoleChat) -> None:
    """However many Interlinkers there are, /help is one short message (Telegram's limit is 4096
    characters) in every language: the core's commands with what they do, then each Interlinker's
    commands by name; ``/help <topic>`` says what one Interlinker's commands do, ``/help <command>`` how to
    write it."""
    say = console_chat.say
    await say("@ann /start")
    for language in ("en", "it", "es", "lv"):
        await say(f"@ann /language {language}")
        listed = await say("@ann /help")
        sent = listed.removeprefix("bot: ").replace("\n     ", "\n").rstrip("\n")  # as the chat gets it
        assert len(sent) <= 2000, (language, len(sent))
        assert "/language — " in listed and " /shift " in listed and " /meet " in listed and " /report " in listed
    await say("@ann /language en")
    topic = await say("@ann /help volunteers")
    assert topic.startswith("bot: Volunteers:\n")
    assert "/signup — Sign up for a shift (or join its waiting list)" in topic
    assert "Scheduling:" in await say("@ann /help Scheduling")
    assert await say("@ann /help shift") == ("bot: /shift <title> | <day> <from>-<to> | <places> [| <place>] "
                                             "[| <role>] — Plan a volunteer shift: time, places, place, role "
                                             "(organisers; alone: step by step)\n")
    assert "I don't know the command /nothing" in await say("@ann /help /nothing")


async def test_a_free_place_goes_to_those_waiting_and_a_cancelled_shift_tells_everyone(
        console_chat: ConsoleChat) -> None:
    """A place freed by someone forgetting themselves is offered to the first in line, not taken by a
    newcomer; cancelling tells everyone on the shift and stops its jobs."""
    say = console_chat.say
    await say("@ann /start")
    await say("@ann /shift Library hours | 2027-04-03 15:00-18:00 | 1")
    await say("@ben /signup 1")
    await say("@cat /signup 1")
    await say("@ben /forgetme confirm")  # ben's place is free, and nobody has been offered it yet
    late = await say("@dan /signup 1")
    assert "bot → cat: A place is free on shift #1" in late, "the first in line gets it"
    assert "you are number 1 on its waiting list" in late, "dan queues behind"
    assert "Only organisers can use /cancelshift" in await say("@dan /cancelshift 1")
    cancelled = await say("@ann /cancelshift 1")
    assert "bot: Shift #1 “Library hours” is cancelled." in cancelled
    assert "bot → cat: Shift #1 “Library hours” (Sat, 3 Apr 2027, 15:00–18:00, Europe/Rome) is cancelled" in cancelled
    assert "bot → dan: Shift #1" in cancelled
    assert not [job for job in await _jobs(console_chat) if job.key.startswith("volunteers:")], "its jobs are gone"
    assert "is cancelled" in await say("@eve /signup 1")
    assert "No shifts are planned here" in await say("@eve /shifts")


async def test_an_organiser_ends_a_shift_early(console_chat: ConsoleChat) -> None:
    say = console_chat.say
    await say("@ann /start")
    await say("@ann /shift Park clean-up | 2027-03-06 09:00-12:00 | 3")
    await say("@ben /signup 1")
    await say("@cat /signup 1")
    assert "has not started yet" in await say("@ann /endshift 1")
    now = datetime.now(UTC).replace(microsecond=0)
    await _move_shift(console_chat, 1, now - timedelta(hours=1), now + timedelta(hours=2))
    coded = await say("@ann /checkincode 1")
    code = coded.split("): ")[1][:6]
    await say(f"@ben /checkin {code}")
    async with console_chat.app.services.sessions.begin() as session:  # as if ben had come at the start
        await session.execute(update(Signup).where(Signup.checked_in_at.is_not(None)).values(
            checked_in_at=now - timedelta(hours=1)))
    assert "Only organisers can use /endshift" in await say("@ben /endshift 1")
    ended = await say("@ann /endshift 1")
    assert "Shift #1 is over. Thank you, everyone!" in ended
    async with console_chat.app.services.sessions() as session:
        rows = dict((await session.execute(select(User.display_name, Signup.minutes)
                                           .join(User, User.id == Signup.user_id))).all())
        done = await session.scalar(select(Outcome).where(Outcome.kind == "shift_done"))
    assert rows == {"ben": 60, "cat": 0}, "an hour served, until the organiser ended it; cat did not come"
    assert done is not None and done.payload["result"]["ends_at"].startswith(now.isoformat()[:16])
    assert "No shift of yours is open" in await say(f"@cat /checkin {code}"), "check-in closes with the shift"
    assert await console_chat.fire("volunteers:end:") == "", "the planned end does nothing more"
