"""What people in Matrix rooms see when they run polls with the bot (real Synapse, real core)."""

from __future__ import annotations

from pathlib import Path

from nio import RoomCreateResponse, RoomMessageText

from tests.matrix.harness import room_with_bot, running_bot
from tests.matrix.reading import edited
from tests.synapse.fixtures import UserFactory
from tests.synapse.server import SynapseServer


async def test_dm_poll_vote_by_text_and_close(
    synapse: SynapseServer, matrix_user: UserFactory, tmp_path: Path
) -> None:
    bot = await matrix_user("bot")
    alice = await matrix_user("alice")
    async with running_bot(synapse, tmp_path, bot.localpart):
        room = await room_with_bot(alice, bot.user_id, direct=True)

        await alice.send_text(room, "!poll Lunch? | Pizza | Sushi")
        poll = await alice.wait_for_text("Lunch?", sender=bot.user_id)
        assert "1. Pizza" in poll.body and "2. Sushi" in poll.body
        assert poll.source["content"]["format"] == "org.matrix.custom.html"
        assert alice.unknown("org.matrix.msc3381.poll.start") or await alice.wait_for(
            lambda e: getattr(e, "type", "") == "org.matrix.msc3381.poll.start", description="an MSC3381 poll"
        )

        await alice.send_text(room, "2")
        await alice.wait_for(lambda e: edited(e, "1 vote"), description="the tally edited to 1 vote")

        await alice.send_text(room, "/close 1")
        closed = await alice.wait_for(lambda e: edited(e, "Sushi"), description="the closed poll")
        assert closed
        await alice.wait_for(lambda e: getattr(e, "type", "") == "org.matrix.msc3381.poll.end",
                             description="the MSC3381 poll ended")


def _poll_start(event: object) -> bool:
    return getattr(event, "type", "") == "org.matrix.msc3381.poll.start"


async def test_votes_by_reaction_and_by_msc3381_response(
    synapse: SynapseServer, matrix_user: UserFactory, tmp_path: Path
) -> None:
    bot = await matrix_user("bot")
    alice = await matrix_user("alice")
    bob = await matrix_user("bob")
    async with running_bot(synapse, tmp_path, bot.localpart):
        room = await room_with_bot(alice, bot.user_id, bob)
        await alice.send_text(room, "!poll Where? | Park | Library")
        poll = await alice.wait_for_text("Where?", sender=bot.user_id)
        start = await alice.wait_for(_poll_start, description="an MSC3381 poll")

        # Alice taps the 1️⃣ reaction under the poll message.
        await alice.send_event(room, "m.reaction", {
            "m.relates_to": {"rel_type": "m.annotation", "event_id": poll.event_id, "key": "1️⃣"},
        })
        await alice.wait_for(lambda e: edited(e, "Park (1)"), description="Park counted once")

        # Bob answers in his client's poll UI (an MSC3381 response, as Element sends it).
        library = start.source["content"]["org.matrix.msc3381.poll.start"]["answers"][1]["id"]
        await bob.send_event(room, "org.matrix.msc3381.poll.response", {
            "m.relates_to": {"rel_type": "m.reference", "event_id": start.event_id},
            "org.matrix.msc3381.poll.response": {"answers": [library]},
        })
        await alice.wait_for(lambda e: edited(e, "Library (1)"), description="Library counted once")
        await alice.wait_for(lambda e: edited(e, "2 votes"), description="two votes in the tally")


async def test_power_level_50_makes_an_organiser(
    synapse: SynapseServer, matrix_user: UserFactory, tmp_path: Path
) -> None:
    bot = await matrix_user("bot")
    alice = await matrix_user("alice")
    bob = await matrix_user("bob")  # moderator: power level 50
    carol = await matrix_user("carol")  # ordinary member
    async with running_bot(synapse, tmp_path, bot.localpart):
        created = await alice.client.room_create(
            invite=[bot.user_id, bob.user_id, carol.user_id],
            power_level_override={"users": {bob.user_id: 50}},  # creator: top level already
        )
        assert isinstance(created, RoomCreateResponse), created
        room = created.room_id
        await bob.join(room)
        await carol.join(room)
        await alice.wait_for(lambda e: getattr(e, "state_key", None) == bot.user_id
                             and getattr(e, "membership", None) == "join", description="the bot joining")

        await bob.send_text(room, "!poll Paint the bench? | Green | Blue")
        await carol.wait_for_text("Paint the bench?", sender=bot.user_id)
        refused_before = len(carol.texts(sender=bot.user_id))
        await carol.send_text(room, "!close 1")
        await carol.wait_for(lambda e: isinstance(e, RoomMessageText) and e.sender == bot.user_id
                             and len(carol.texts(sender=bot.user_id)) > refused_before,
                             description="an answer to carol's /close")
        assert not any(edited(e, "closed") for e in carol.events), "carol (level 0) closed bob's poll"

        await carol.send_text(room, "!poll Picnic day? | Saturday | Sunday")
        await carol.wait_for_text("Picnic day?", sender=bot.user_id)
        await bob.send_text(room, "!close 2")
        await carol.wait_for(lambda e: edited(e, "Picnic day?") and edited(e, "closed"),
                             description="bob (level 50) closing carol's poll")

        await carol.send_text(room, "!poll Music? | Jazz | Folk")
        await carol.wait_for_text("Music?", sender=bot.user_id)
        await alice.send_text(room, "!close 3")
        await carol.wait_for(lambda e: edited(e, "Music?") and edited(e, "closed"),
                             description="alice (the room's creator) closing carol's poll")
