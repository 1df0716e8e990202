"""Nothing lost, nothing twice, nothing silently dropped: restarts, large messages, encryption, invites."""

from __future__ import annotations

import asyncio
from pathlib import Path

from nio import RoomCreateResponse, RoomMemberEvent, RoomMessageText

from bot.events import Button, ChatRef, Reply
from tests.matrix.harness import room_with_bot, running_bot
from tests.synapse.fixtures import UserFactory
from tests.synapse.server import SynapseServer


async def test_restart_answers_what_was_missed_and_nothing_twice(
    synapse: SynapseServer, matrix_user: UserFactory, tmp_path: Path
) -> None:
    bot = await matrix_user("bot")
    alice = await matrix_user("alice")
    async with running_bot(synapse, tmp_path, bot.localpart) as (_app, adapter):
        room = await room_with_bot(alice, bot.user_id, direct=True)
        await alice.send_text(room, "!poll Before? | A | B")
        await alice.wait_for_text("Before?", sender=bot.user_id)
        device = adapter._client.device_id if adapter._client else None
        # Killed mid-sync: the sync task dies at once, without finishing its batch or saving anything more.
        assert adapter._task is not None
        adapter._task.cancel()

    # While the bot is down, two more commands arrive.
    await alice.send_text(room, "!poll During one? | A | B")
    await alice.send_text(room, "!poll During two? | A | B")

    async with running_bot(synapse, tmp_path, bot.localpart) as (_app, adapter):
        assert adapter._client is not None and adapter._client.device_id == device
        await alice.wait_for_text("During one?", sender=bot.user_id, within=20)
        await alice.wait_for_text("During two?", sender=bot.user_id, within=20)
        await alice.send_text(room, "!poll After? | A | B")
        await alice.wait_for_text("After?", sender=bot.user_id)

    answers = [t for t in alice.texts(sender=bot.user_id) if "?" in t]
    for question in ("Before?", "During one?", "During two?", "After?"):
        assert sum(question in t for t in answers) == 1, (question, answers)


async def test_message_larger_than_an_event_arrives_whole_in_parts(
    synapse: SynapseServer, matrix_user: UserFactory, tmp_path: Path
) -> None:
    bot = await matrix_user("bot")
    alice = await matrix_user("alice")
    async with running_bot(synapse, tmp_path, bot.localpart) as (_app, adapter):
        room = await room_with_bot(alice, bot.user_id, direct=True)
        lines = [f"line {n:05d} <&> " + "città " * 12 for n in range(1500)]  # ~120 kB, more than 65536 bytes
        text = "\n".join(lines)
        button = Button("Yes", "payload-yes")
        event_id = await adapter.send(ChatRef("matrix", room), Reply(text, (button,)))
        assert event_id
        await alice.wait_for(lambda e: getattr(e, "event_id", None) == event_id, description="the last part")
        parts = [e for e in alice.events if isinstance(e, RoomMessageText) and e.sender == bot.user_id]
        assert len(parts) >= 2
        received = "\n".join(p.body for p in parts)
        for line in (lines[0], lines[777], lines[-1]):
            assert line in received
        assert "&lt;&amp;&gt;" in parts[0].source["content"]["formatted_body"]
        assert "1. Yes" in parts[-1].body


async def test_encrypted_room(synapse: SynapseServer, matrix_user: UserFactory, tmp_path: Path) -> None:
    bot = await matrix_user("bot")
    alice = await matrix_user("alice", e2e=True)
    async with running_bot(synapse, tmp_path / "bot", bot.localpart):
        room = await room_with_bot(alice, bot.user_id, direct=True, encrypted=True)
        await alice.sync_once()
        await alice.send_text(room, "!poll Secret? | Yes | No")
        reply = await alice.wait_for_text("Secret?", sender=bot.user_id, within=30)
        assert reply.decrypted, "the bot answered in clear text in an encrypted room"
        await alice.send_text(room, "1")
        await alice.wait_for(
            lambda e: isinstance(e, RoomMessageText) and e.sender == bot.user_id
            and "Yes (1)" in (e.source.get("content", {}).get("m.new_content") or {}).get("body", ""),
            description="the encrypted tally edit",
        )


async def test_invites_only_from_allowed_inviters(
    synapse: SynapseServer, matrix_user: UserFactory, tmp_path: Path
) -> None:
    bot = await matrix_user("bot")
    alice = await matrix_user("alice")
    mallory = await matrix_user("mallory")
    async with running_bot(synapse, tmp_path, bot.localpart, allowed_inviters=alice.user_id):
        created = await mallory.client.room_create(invite=[bot.user_id])
        assert isinstance(created, RoomCreateResponse)
        await mallory.wait_for(
            lambda e: isinstance(e, RoomMemberEvent) and e.state_key == bot.user_id and e.membership == "leave",
            description="the bot declining mallory's invite",
        )
        await mallory.send_text(created.room_id, "!poll Hijack? | A | B")
        await asyncio.sleep(1)
        await mallory.sync_once()
        assert not mallory.texts(sender=bot.user_id)

        room = await room_with_bot(alice, bot.user_id)
        await alice.send_text(room, "!poll Allowed? | A | B")
        await alice.wait_for_text("Allowed?", sender=bot.user_id)


async def test_a_bare_number_still_votes_after_a_restart(
    synapse: SynapseServer, matrix_user: UserFactory, tmp_path: Path
) -> None:
    bot = await matrix_user("bot")
    alice = await matrix_user("alice")
    async with running_bot(synapse, tmp_path, bot.localpart):
        room = await room_with_bot(alice, bot.user_id, direct=True)
        await alice.send_text(room, "!poll Paint the bench? | Green | Blue")
        await alice.wait_for_text("Paint the bench?", sender=bot.user_id)
    async with running_bot(synapse, tmp_path, bot.localpart):
        await alice.send_text(room, "2")
        confirmation = "Your vote in poll #1 is counted: “Blue”."
        await alice.wait_for(lambda e: e.sender == bot.user_id and confirmation in getattr(e, "body", ""),
                             within=20, description="the vote confirmation (an m.notice)")
