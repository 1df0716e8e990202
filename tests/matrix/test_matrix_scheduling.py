"""What people in a Matrix room see when they find a date with the bot: a date poll answered by typing and by
reactions, the confirmed event with its .ics invite (a real file in the media repository), RSVPs, and a
reminder in the room and in a direct room the bot opens with the one who said "going"; then a move told to
those who answered, without stalling the bot and even to someone who left their direct room (real Synapse)."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
from nio import (
    MemoryDownloadResponse,
    RoomMemberEvent,
    RoomMessageFile,
    RoomMessageText,
)
from sqlalchemy import select, update

from storage.models import Job
from tests.matrix.harness import room_with_bot, running_bot
from tests.matrix.reading import edited, history, invited_by, notice, react, said, seen_in
from tests.synapse.fixtures import UserFactory
from tests.synapse.server import SynapseServer

ROME = ZoneInfo("Europe/Rome")  # the group's zone: the default of INTERLINK_TIMEZONE
REMINDER = "Reminder: Team meeting starts"


async def test_date_poll_event_invite_and_reminders_in_room_and_direct_room(
    synapse: SynapseServer, matrix_user: UserFactory, tmp_path: Path
) -> None:
    bot = await matrix_user("bot")
    ann = await matrix_user("ann")  # creates the room: an organiser
    ben, cat, dan = await matrix_user("ben"), await matrix_user("cat"), await matrix_user("dan")
    year = datetime.now(UTC).year + 1
    async with running_bot(synapse, tmp_path, bot.localpart) as (app, _adapter):
        room = await room_with_bot(ann, bot.user_id, ben, cat, dan)

        # 1. A date poll: two typed answers and one reaction, as Matrix shows the buttons (numbered options).
        await ann.send_text(room, f"/meet Team meeting | {year}-06-05 10:00 | {year}-06-06 15:00 | 90 min")
        meet = await ann.wait_for(lambda e: said(e, bot.user_id, "Date poll #1: Team meeting"),
                                  description="the date poll")
        assert "1. " in meet.body and "5 Jun, 10:00 — yes 0" in meet.body and "6 Jun, 15:00 — yes 0" in meet.body
        assert "react with it" in meet.body

        await ben.send_text(room, "/answer 1 yes no")
        await ann.wait_for(lambda e: said(e, bot.user_id, "Your answers to date poll #1", "10:00: yes",
                                           "15:00: no"), description="ben's answers confirmed")
        await cat.send_text(room, "/answer 1 maybe yes")
        await ann.wait_for(lambda e: said(e, bot.user_id, "Your answers to date poll #1", "10:00: if need be",
                                           "15:00: yes"), description="cat's answers confirmed")
        await react(dan, room, meet.event_id, "2️⃣")
        await ann.wait_for(lambda e: notice(e, bot.user_id, "15:00: your answer is yes"),
                           description="dan's reaction taken as yes")
        await ann.wait_for(lambda e: edited(e, "10:00 — yes 1 · if need be 1 · no 0",
                                             "15:00 — yes 2 · if need be 0 · no 1", ben.localpart,
                                             cat.localpart, dan.localpart),
                           description="the grid with the three answers")

        # The organiser confirms without naming a time: the rule picks the one with most "yes" (15:00).
        await ann.send_text(room, "/confirm 1")
        card = await ann.wait_for(lambda e: said(e, bot.user_id, "Event #1: Team meeting"),
                                  description="the event card")
        assert f"6 Jun {year}, 15:00–16:30 (Europe/Rome)" in card.body, card.body
        assert "1. Going" in card.body and "2. Maybe" in card.body and "3. Not going" in card.body
        await ann.wait_for(lambda e: edited(e, "Date poll #1", "Confirmed"), description="the poll closed")

        # 2. The invite: an m.file of type text/calendar, in the media repository, a calendar app can read.
        invite = await ann.wait_for(lambda e: isinstance(e, RoomMessageFile) and e.sender == bot.user_id,
                                    description="the .ics invite")
        content = invite.source["content"]
        assert content["msgtype"] == "m.file" and content["info"]["mimetype"] == "text/calendar"
        assert content["filename"] == "event-1.ics"
        assert content["body"] == "Add “Team meeting” to your calendar: open the file."
        downloaded = await cat.client.download(mxc=content["url"])
        assert isinstance(downloaded, MemoryDownloadResponse), downloaded
        assert downloaded.content_type.startswith("text/calendar")
        assert len(downloaded.body) == content["info"]["size"]
        calendar = icalendar.Calendar.from_ical(downloaded.body)
        assert str(calendar["METHOD"]) == "REQUEST"
        (vevent,) = calendar.walk("VEVENT")
        assert str(vevent["SUMMARY"]) == "Team meeting"
        assert vevent["DTSTART"].params["TZID"] == "Europe/Rome"
        start = vevent.decoded("DTSTART")
        assert start == datetime(year, 6, 6, 15, 0, tzinfo=ROME) and start.utcoffset() == ROME.utcoffset(start)
        assert vevent.decoded("DTEND") == datetime(year, 6, 6, 16, 30, tzinfo=ROME)
        assert re.fullmatch(r"[0-9a-f-]{36}@interlink", str(vevent["UID"])), vevent["UID"]
        assert vevent.decoded("SEQUENCE") == 0
        assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/Rome"]
        # Forwarded beyond the room, the file names nobody: no organiser, no attendees.
        assert "ORGANIZER" not in vevent and "ATTENDEE" not in vevent
        assert all(u.localpart.encode() not in downloaded.body for u in (ann, ben, cat, dan))

        # 3. RSVPs: ben types, cat reacts 2️⃣ (Maybe) under the card.
        await ben.send_text(room, "/rsvp 1 going")
        await ann.wait_for(lambda e: said(e, bot.user_id, "Event #1 “Team meeting”: your answer is going."),
                           description="ben's RSVP confirmed")
        await react(cat, room, card.event_id, "2️⃣")
        await ann.wait_for(lambda e: notice(e, bot.user_id, "your answer is maybe"),
                           description="cat's reaction taken as maybe")
        await ann.wait_for(lambda e: edited(e, "Event #1: Team meeting", "Going 1 · maybe 1 · not going 0",
                                             f"Going: {ben.localpart}"), description="the card with the RSVPs")

        # 4. The first reminder (a day before) made due now; the running bot's job runner picks it up.
        async with app.services.sessions.begin() as session:
            (job,) = (await session.scalars(select(Job).where(Job.key.startswith("scheduling:remind:")))).all()
            assert job.job == "remind"
            await session.execute(update(Job).where(Job.id == job.id).values(run_at=datetime.now(UTC)))
        app.services.jobs.wake()

        group_reminder = await ann.wait_for(lambda e: said(e, bot.user_id, REMINDER), description="the reminder")
        assert "Going: 1." in group_reminder.body and "/rsvp 1 going" in group_reminder.body
        assert "6 Jun, 15:00" in group_reminder.body

        # Ben said "going": the bot opens a direct room with him and reminds him there.
        direct = await invited_by(ben, bot.user_id)
        assert direct != room
        await ben.join(direct)
        private = await seen_in(ben, direct, lambda e: said(e, bot.user_id, REMINDER), "the private reminder")
        assert "6 Jun, 15:00 (Europe/Rome)" in private.body, private.body

        # Nothing else is due (the next reminder is an hour before the meeting), and nothing comes twice.
        assert await app.services.jobs.run_due() == 0
        await asyncio.sleep(1.0)
        in_room = [e for e in await history(ann, room) if said(e, bot.user_id, REMINDER)]
        assert len(in_room) == 1, [e.body for e in in_room]
        dm = await history(ben, direct)
        assert [e.body for e in dm if isinstance(e, RoomMessageText)] == [private.body]
        assert any(isinstance(e, RoomMemberEvent) and e.state_key == ben.user_id and e.membership == "invite"
                   and e.source["content"].get("is_direct") for e in dm), "the room is not marked as direct"
        joined = await ben.client.joined_members(direct)
        assert sorted(m.user_id for m in joined.members) == sorted([bot.user_id, ben.user_id])

        # Those who did not say "going" (cat said maybe, dan and ann did not answer) get no direct room.
        for other in (ann, cat, dan):
            await other.sync_once()
            assert not [r for r, info in other.client.invited_rooms.items() if info.inviter == bot.user_id], other


async def test_telling_those_who_answered_of_a_move_keeps_the_bot_answering_and_reaches_everyone(
    synapse: SynapseServer, matrix_user: UserFactory, tmp_path: Path
) -> None:
    """A move is told privately to those who said going or maybe, where the bot can reach them, else they are
    named in the room. Opening a direct room for someone must not stall the bot, and a direct room the person
    left is no place to reach them. Both problems are collected, so one run shows each."""
    bot = await matrix_user("bot")
    ann, ben = await matrix_user("ann"), await matrix_user("ben")
    cat, dan = await matrix_user("cat"), await matrix_user("dan")
    year = datetime.now(UTC).year + 1
    problems: list[str] = []
    async with running_bot(synapse, tmp_path, bot.localpart) as (app, _adapter):
        room = await room_with_bot(ann, bot.user_id, ben, cat, dan)
        await ann.send_text(room, f"/event Team meeting | {year}-06-06 15:00 | 90 min")
        await ann.wait_for(lambda e: said(e, bot.user_id, "Event #1: Team meeting"), description="the event")
        await ben.send_text(room, "/rsvp 1 going")
        await ann.wait_for(lambda e: said(e, bot.user_id, "your answer is going"), description="ben's RSVP")

        # Ben gets a reminder in a direct room the bot opens, reads it, and leaves the room ("Leave" in Element).
        async with app.services.sessions.begin() as session:
            await session.execute(update(Job).where(Job.key.startswith("scheduling:remind:"))
                                  .values(run_at=datetime.now(UTC)))
        app.services.jobs.wake()
        first = await invited_by(ben, bot.user_id)
        await ben.join(first)
        await seen_in(ben, first, lambda e: said(e, bot.user_id, REMINDER), "the private reminder")
        await ben.client.room_leave(first)
        await ben.sync_once()

        # Cat says maybe (she has no direct room yet); the organiser moves the event; Dan asks something.
        await cat.send_text(room, "/rsvp 1 maybe")
        await ann.wait_for(lambda e: said(e, bot.user_id, "your answer is maybe"), description="cat's RSVP")
        def moved(event: object) -> bool:
            return said(event, bot.user_id, "is moved:", "7 Jun", "11:00")

        def answered(event: object) -> bool:
            return said(event, bot.user_id, "Upcoming events:")

        loop = asyncio.get_running_loop()
        await ann.send_text(room, f"/reschedule 1 {year}-06-07 11:00")
        moved_at = loop.time()
        await dan.send_text(room, "/events")
        await ann.wait_for(moved, description="the move")
        try:
            await ann.wait_for(answered, within=10, description="an answer to dan's /events")
        except AssertionError:
            await ann.wait_for(answered, within=50, description="an answer to dan's /events, even late")
            problems.append(f"opening cat's direct room stalled the bot: dan's /events was answered only "
                            f"{loop.time() - moved_at:.0f} s after the move")

        private = await invited_by(cat, bot.user_id, within=10)
        await cat.join(private)
        await seen_in(cat, private, moved, "the move, privately")

        # Ben left his direct room: a new invite carrying the news, or his name in the room, reaches him.
        deadline = loop.time() + 5
        while True:
            await ben.sync_once(timeout_ms=500)
            invited = [r for r, info in ben.client.invited_rooms.items()
                       if info.inviter == bot.user_id and r != first]  # his client may still list the left one
            if invited:
                await ben.join(invited[0])
                await seen_in(ben, invited[0], moved, "the move, privately")
                break
            if any(said(e, bot.user_id, ben.localpart, "you had answered event #1")
                   for e in await history(ann, room)):
                break
            if loop.time() > deadline:
                problems.append("ben left his direct room: the move was sent there, where nobody reads it, and "
                                "the room did not name him")
                break
    assert not problems, problems
