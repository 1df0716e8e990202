"""A citizen creates, votes on and closes a poll in a private chat, by buttons and by /vote."""

from __future__ import annotations

from tests.botapi import FakeBotAPI
from tests.telegram.harness import Harness


async def test_private_chat_poll_flow(api: FakeBotAPI, harness: Harness) -> None:
    alice = api.user(101, "Alice", "en")
    chat = api.private_chat(alice)
    api.send_text(alice, chat, "/poll Where shall we meet? | Library | Park | Café")
    await api.wait_for(lambda: any(s.buttons for s in api.sent_to(chat.id)))
    poll = next(s for s in api.sent_to(chat.id) if s.buttons)
    print(poll)
    labels = [row[0][0] for row in poll.buttons]
    assert any("Park" in label for label in labels)
    park = next(row[0][1] for row in poll.buttons if "Park" in row[0][0])
    update_id = api.press(alice, chat, poll.message_id, park)
    await api.wait_for(lambda: len(api.answered) == 1)
    await api.wait_for(lambda: any(s.method == "editMessageText" for s in api.sent_to(chat.id)))
    print(api.sent_to(chat.id)[-1])
    print(api.answered, update_id)
