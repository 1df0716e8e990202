"""Private messages on Telegram, where a bot may write only to people who started it: a proposal's block
alert for an organiser who never did is held, and delivered the moment they open the private chat; once
they have, the next one goes straight there. python-telegram-bot, unmodified, against the local Bot API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update

from bot.direct import HELD_FOR
from storage.models import HeldMessage
from tests.telegram.test_transcripts import telegram_chat, until


async def test_a_held_message_is_delivered_when_the_person_starts_the_bot(tmp_path: Path) -> None:
    async with telegram_chat(tmp_path) as chat:
        api = chat.api
        await chat.say("@ann /start")  # the first to speak organises the group
        await chat.say("@ben /propose We paint the bench green")
        alert = await chat.say("@cat /vote 1 block toxic for hedgehogs")
        assert alert is not None and "cat blocks proposal #1" in alert and "Organisers (ann)" in alert
        ann = chat.member("ann")
        private = api.private_chat(ann)
        assert not api.sent_to(private.id), "Telegram forbids writing first: nothing was sent to ann"
        # ann opens the private chat (the deep link's /start, or any message): what was held arrives.
        api.send_text(ann, private, "/start")
        assert await until(lambda: any("cat blocks proposal #1" in s.text for s in api.sent_to(private.id)), 10)
        held = [s.text for s in api.sent_to(private.id)]
        assert any("In “Console" in text and "toxic for hedgehogs" in text for text in held)
        # From now on a private message needs no holding.
        await chat.say("@ben /propose We plant a tree")
        await chat.say("@dan /vote 2 block no water there")
        assert await until(lambda: any("dan blocks proposal #2" in s.text for s in api.sent_to(private.id)), 10)


async def test_a_message_held_too_long_is_dropped_not_delivered(tmp_path: Path) -> None:
    async with telegram_chat(tmp_path) as chat:
        api = chat.api
        await chat.say("@ann /start")
        await chat.say("@ben /propose We paint the bench green")
        await chat.say("@cat /vote 1 block toxic for hedgehogs")
        async with chat.harness.app.sessions.begin() as session:  # that alert waited past HELD_FOR
            await session.execute(update(HeldMessage).values(created_at=datetime.now(UTC) - HELD_FOR - timedelta(1)))
        await chat.say("@ben /propose We plant a tree")
        await chat.say("@dan /vote 2 block no water there")
        ann = chat.member("ann")
        private = api.private_chat(ann)
        api.send_text(ann, private, "/start")
        assert await until(lambda: any("dan blocks proposal #2" in s.text for s in api.sent_to(private.id)), 10)
        assert not any("cat blocks proposal #1" in s.text for s in api.sent_to(private.id)), "stale: dropped"
        async with chat.harness.app.sessions() as session:
            assert not (await session.scalars(select(HeldMessage))).all(), "nothing is kept once released"
