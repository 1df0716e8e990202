"""A citizen creates, votes on and closes a poll in a private chat, with buttons and with /vote."""

from __future__ import annotations

from pathlib import Path

from tests.botapi import FakeBotAPI
from tests.telegram.harness import button, start_harness


async def test_private_chat_poll_flow_ends_in_an_outcome(api: FakeBotAPI, tmp_path: Path) -> None:
    async with start_harness(api, tmp_path, http=True) as harness:
        alice = api.user(101, "Alice", "en")
        chat = api.private_chat(alice)
        api.send_text(alice, chat, "/poll Where shall we meet? | Library | Park | Café")
        await api.wait_for(lambda: any(s.buttons for s in api.sent_to(chat.id)))
        poll = next(s for s in api.sent_to(chat.id) if s.buttons)
        assert "Where shall we meet?" in poll.text

        # Vote with a button: the callback is answered and the poll message shows the vote.
        api.press(alice, chat, poll.message_id, button(poll, "Park"))
        await api.wait_for(lambda: len(api.answered) == 1)
        (answer,) = api.answered.values()
        assert answer.get("text"), "the confirmation pops up on the button, not as a chat message"
        await api.wait_for(lambda: "Park (1)" in str(api.current(chat.id, poll.message_id)))

        # Change the vote with /vote: the same message is edited again.
        api.send_text(alice, chat, "/vote 1 3")
        await api.wait_for(lambda: "Café (1)" in str(api.current(chat.id, poll.message_id)))
        assert "Park (0)" in str(api.current(chat.id, poll.message_id))

        before = len(api.sent_to(chat.id))
        api.send_text(alice, chat, "/close 1")
        await api.wait_for(lambda: any("Café" in s.text for s in api.sent_to(chat.id)[before:]
                                       if s.method == "sendMessage"))
        outcomes = await harness.outcomes(1)
        assert len(outcomes) == 1
        assert "Where shall we meet?" in str(outcomes[0])
        assert "Café" in str(outcomes[0])
        assert not [c for c in api.calls if c[2] != 200], "every request was accepted by Telegram"
