"""A step-by-step dialog in a Telegram group with privacy mode on, where the bot sees only commands and
replies to its own messages: each question replies to the person's message and opens the reply box for
them alone (ForceReply, selective), a shared venue answers the place step, and the event's place comes
back as a venue pin. python-telegram-bot, unmodified, against the local Bot API."""

from __future__ import annotations

from pathlib import Path

from tests.botapi import Sent
from tests.telegram.test_transcripts import telegram_chat, until


async def test_event_dialog_in_a_group_with_a_shared_venue(tmp_path: Path) -> None:
    async with telegram_chat(tmp_path) as chat:
        api, group = chat.api, chat.group
        await chat.say("@ann /start")

        def last() -> Sent:
            return api.sent_to(group.id)[-1]

        await chat.say("@ann /event")
        question = last()
        assert question.text.startswith("What is the event?")
        assert question.force_reply, "the reply box opens, so ann's answer reaches the bot"
        asked = api.messages[(group.id, question.reply_to or 0)]
        assert asked["from"]["first_name"] == "ann" and asked["text"].startswith("/event"), \
            "it replies to ann's own command: selective ForceReply targets ann alone"

        assert "When is it?" in (await chat.say("@ann Bench painting") or "")
        where = await chat.say("@ann 2027-03-06 10:00 | 3h")
        assert where is not None and where.startswith("bot: Where?")
        with_button = last()
        assert with_button.buttons and not with_button.force_reply, "a question with buttons keeps its buttons"
        assert with_button.reply_to is not None

        # Outside a reply the venue is invisible to the bot (privacy mode); as a reply it answers the step.
        assert api.send_location(chat.member("ann"), group, 45.0703, 7.6869, title="Park gate") is None
        api.send_location(chat.member("ann"), group, 45.0703, 7.6869, title="Park gate", address="Via Roma 1",
                          reply_to=with_button.message_id)
        assert await until(lambda: last().text.startswith("Last step"), 10)
        await chat.say("@ann [1]")  # "Create the event"
        assert await until(lambda: any(s.method == "sendVenue" for s in api.sent_to(group.id)), 10)
        card = next(s for s in api.sent_to(group.id) if s.text.startswith("Event #1: Bench painting"))
        assert "Where: Park gate, Via Roma 1" in card.text
        (venue,) = [s for s in api.sent_to(group.id) if s.method == "sendVenue"]
        assert venue.location == (45.0703, 7.6869) and venue.text == "Park gate, Via Roma 1"
        invite = next(s for s in api.sent_to(group.id) if s.method == "sendDocument")
        assert invite.content is not None and b"GEO:45.0703;7.6869" in invite.content
