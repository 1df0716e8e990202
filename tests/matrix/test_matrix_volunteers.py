"""What people in a Matrix room see when they volunteer for a shift: the card with its numbered options, a
sign-up by reaction and two typed ones (the second joins the waiting list), the card kept up to date, and a
freed place offered to the first in line in a direct room the bot opens, taken there by a reaction (real
Synapse, real core)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nio import RoomMemberEvent

from tests.matrix.harness import room_with_bot, running_bot
from tests.matrix.reading import bot_texts, edited, history, invited_by, notice, react, said, seen_in
from tests.synapse.fixtures import UserFactory
from tests.synapse.server import SynapseServer

CARD = "Shift #1: Food bank"
OFFER = "A place is free on shift #1 “Food bank”"
SIGNED_UP = "You are signed up for shift #1 “Food bank”"
WAITING = "Shift #1 is full: you are number 1 on its waiting list."
GAVE_UP = "You gave up your place on shift #1. Thank you for saying so!"
YOURS = "The place on shift #1 is yours. Thank you!"


def _card_edits(events: list[Any], card_id: str) -> list[str]:
    """The new texts of the edits of the card, oldest first."""
    return [e.source["content"]["m.new_content"]["body"] for e in events
            if edited(e) and e.source["content"]["m.relates_to"].get("event_id") == card_id]


def _places(body: str) -> str:
    """The card's line of places taken, free and waiting."""
    return next(line for line in body.split("\n") if "places taken" in line)


async def test_a_full_shift_its_waiting_list_and_a_freed_place_taken_in_a_direct_room(
    synapse: SynapseServer, matrix_user: UserFactory, tmp_path: Path
) -> None:
    bot = await matrix_user("bot")
    ann = await matrix_user("ann")  # creates the room: an organiser
    ben, cat, dan = await matrix_user("ben"), await matrix_user("cat"), await matrix_user("dan")
    year = datetime.now(UTC).year + 1
    when = f"{datetime(year, 3, 6):%a}, 6 Mar {year}, 09:00–12:00 (Europe/Rome)"  # English names, as babel's
    async with running_bot(synapse, tmp_path, bot.localpart):
        room = await room_with_bot(ann, bot.user_id, ben, cat, dan)

        # 1. The organiser speaks first and plans a shift with two places: the card shows the buttons as
        # numbered options.
        await ann.send_text(room, "/start")
        await ann.wait_for(lambda e: said(e, bot.user_id, f"Hello {ann.localpart}"), description="the welcome")
        await ann.send_text(room, f"/shift Food bank | {year}-03-06 09:00-12:00 | 2 | Via Roma 1")
        card = await ann.wait_for(lambda e: said(e, bot.user_id, CARD), description="the shift card")
        assert f"When: {when}" in card.body and "Where: Via Roma 1" in card.body, card.body
        assert "0 of 2 places taken, 2 free" in card.body, card.body
        assert "1. Sign up\n2. Withdraw" in card.body and "react with it" in card.body, card.body
        assert "<ol><li>Sign up</li><li>Withdraw</li></ol>" in card.source["content"]["formatted_body"]

        # 2. ben reacts 1️⃣ (Sign up) under the card; cat and dan type. dan finds the shift full.
        await react(ben, room, card.event_id, "1️⃣")
        pressed = await ann.wait_for(lambda e: notice(e, bot.user_id, SIGNED_UP), description="ben's sign-up")
        assert f"{SIGNED_UP}: " in pressed.body and when in pressed.body, pressed.body
        await ann.wait_for(lambda e: edited(e, "1 of 2 places taken, 1 free", f"Volunteers: {ben.localpart}"),
                           description="the card with ben")
        await cat.send_text(room, "/signup 1")
        await ann.wait_for(lambda e: said(e, bot.user_id, SIGNED_UP), description="cat's sign-up")
        await ann.wait_for(lambda e: edited(e, "Full: 2 of 2 places taken",
                                             f"Volunteers: {ben.localpart}, {cat.localpart}"),
                           description="the card full")
        await dan.send_text(room, "/signup 1")
        await ann.wait_for(lambda e: said(e, bot.user_id, WAITING), description="dan on the waiting list")
        full = await ann.wait_for(lambda e: edited(e, "Full: 2 of 2 places taken · 1 waiting",
                                                    f"Volunteers: {ben.localpart}, {cat.localpart}"),
                                  description="the card with one waiting")
        assert full.source["content"]["m.relates_to"]["event_id"] == card.event_id
        assert "1. Join the waiting list\n2. Withdraw" in full.source["content"]["m.new_content"]["body"]

        # 3. ben withdraws: dan, first in line, is offered the place in a direct room the bot opens.
        await ben.send_text(room, "/withdraw 1")
        await ann.wait_for(lambda e: said(e, bot.user_id, GAVE_UP), description="ben's withdrawal")
        direct = await invited_by(dan, bot.user_id)
        assert direct != room
        await dan.join(direct)
        offer = await seen_in(dan, direct, lambda e: said(e, bot.user_id, OFFER), "the offer")
        inline = when.replace(" (Europe/Rome)", ", Europe/Rome")  # inside brackets already: no second pair
        assert f"({inline}), and you are first in line" in offer.body, offer.body
        assert "1. Take the place\n2. Give it up" in offer.body and "react with it" in offer.body, offer.body

        def held_for_dan(event: Any) -> bool:  # an offered place is held: the card names dan, none waiting
            return (edited(event, f"Volunteers: {cat.localpart}, {dan.localpart}")
                    and _places(event.source["content"]["m.new_content"]["body"]) == "Full: 2 of 2 places taken")

        await ann.wait_for(held_for_dan, description="the card holding the place for dan")

        # dan takes the place by reacting 1️⃣ under the offer, in the direct room.
        await react(dan, direct, offer.event_id, "1️⃣")
        await seen_in(dan, direct, lambda e: notice(e, bot.user_id, YOURS), "the place confirmed")
        await ann.send_text(room, "/roster 1")
        roster = await ann.wait_for(lambda e: said(e, bot.user_id, f"{CARD}\n{when}\n"),
                                    description="the roster")
        lines = roster.body.split("\n")
        assert lines[0] == "Shift #1: Food bank" and lines[1] == when, roster.body
        assert lines[2:] == ["Full: 2 of 2 places taken", f"1. {cat.localpart}", f"2. {dan.localpart}"], roster.body

        # The card, as it stands once the press in the direct room is handled (its refresh runs in the room).
        await asyncio.sleep(1.0)
        group = await history(ann, room)
        edits = _card_edits(group, card.event_id)
        assert edits, "the card was never edited"
        assert f"Volunteers: {cat.localpart}, {dan.localpart}" in edits[-1], edits[-1]
        assert _places(edits[-1]) == "Full: 2 of 2 places taken", edits[-1]

        # 4. Each message exactly once, in the room and in the direct room; no other direct room.
        texts = bot_texts(group, bot.user_id)
        expected = [f"Hello {ann.localpart}", CARD, SIGNED_UP, SIGNED_UP, WAITING, GAVE_UP, f"{CARD}\n{when}\n"]
        assert len(texts) == len(expected), texts
        for text, needle in zip(texts, expected, strict=True):
            assert needle in text, (needle, texts)
        assert not [b for b in texts if OFFER in b or YOURS in b], "the offer belongs in the direct room"
        private = await history(dan, direct)
        dm = bot_texts(private, bot.user_id)
        assert len(dm) == 2 and dm[0].startswith(OFFER) and dm[1] == YOURS, dm
        assert any(isinstance(e, RoomMemberEvent) and e.state_key == dan.user_id and e.membership == "invite"
                   and e.source["content"].get("is_direct") for e in private), "the room is not marked as direct"
        joined = await dan.client.joined_members(direct)
        assert sorted(m.user_id for m in joined.members) == sorted([bot.user_id, dan.user_id])
        for other in (ann, ben, cat, dan):  # dan has joined his: no second one waits for him
            await other.sync_once()
            assert not [r for r, info in other.client.invited_rooms.items() if info.inviter == bot.user_id], other
