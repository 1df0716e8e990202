"""What users wrote is shown as written; long text is split cleanly; forged buttons change nothing."""

from __future__ import annotations

from pathlib import Path

from bot.events import ChatRef, File, Reply
from tests.botapi import FakeBotAPI
from tests.telegram.harness import button, start_harness


async def test_markup_in_user_text_is_shown_literally(api: FakeBotAPI, tmp_path: Path) -> None:
    async with start_harness(api, tmp_path):
        alice = api.user(601, "Alice")
        chat = api.private_chat(alice)
        api.send_text(alice, chat, '/poll Is <b>& "bold" allowed? | <i>yes</i> | a&b | </pre>')
        await api.wait_for(lambda: any(s.buttons for s in api.sent_to(chat.id)))
        poll = next(s for s in api.sent_to(chat.id) if s.buttons)
        assert 'Is <b>& "bold" allowed?' in poll.text
        assert "<i>yes</i>" in poll.text and "a&b" in poll.text and "</pre>" in poll.text
        assert not [c for c in api.calls if c[2] == 400], "Telegram never had to reject our HTML"


async def test_text_over_4096_characters_is_split_on_line_boundaries(api: FakeBotAPI, tmp_path: Path) -> None:
    async with start_harness(api, tmp_path) as harness:
        alice = api.user(602, "Alice")
        chat = api.private_chat(alice)
        lines = [f"{i:05d} <tag> & some words to make the line longer" for i in range(400)]
        text = "\n".join(lines)
        assert len(text) > 4096 * 4
        ref = ChatRef("telegram", str(chat.id), is_private=True)
        await harness.adapter.send(ref, Reply(text, key="long:1"))
        parts = api.sent_to(chat.id)
        assert len(parts) >= 5
        assert all(len(p.text) <= 4096 for p in parts)
        assert "\n".join(p.text for p in parts) == text, "nothing lost, no line cut in half"


async def test_a_file_arrives_as_a_document_with_its_caption(api: FakeBotAPI, tmp_path: Path) -> None:
    async with start_harness(api, tmp_path) as harness:
        alice = api.user(603, "Alice")
        chat = api.private_chat(alice)
        content = b"option;votes\r\nOak;3\r\n" + bytes(range(256))  # any bytes, not only text
        ref = ChatRef("telegram", str(chat.id), is_private=True)
        await harness.adapter.send(ref, File("results.csv", content, "text/csv", "Results <poll #1> & more"))
        (document,) = api.sent_to(chat.id)
    assert (document.method, document.filename, document.content) == ("sendDocument", "results.csv", content)
    assert document.text == "Results <poll #1> & more"


async def test_forged_and_stale_buttons_are_answered_and_change_nothing(api: FakeBotAPI, tmp_path: Path) -> None:
    async with start_harness(api, tmp_path):
        alice, mallory = api.user(603, "Alice"), api.user(604, "Mallory")
        chat = api.private_chat(alice)
        api.send_text(alice, chat, "/poll Tree species? | Oak | Lime")
        await api.wait_for(lambda: any(s.buttons for s in api.sent_to(chat.id)))
        poll = next(s for s in api.sent_to(chat.id) if s.buttons)
        genuine = button(poll, "Oak")
        tampered = genuine[:-3] + ("AAA" if not genuine.endswith("AAA") else "BBB")
        other_option = genuine.replace(".1~", ".2~")  # option changed, signature kept
        for data in (tampered, other_option, "x", "1.polls.v.999.1~AAAAAAAAAA"):
            api.press(mallory, chat, poll.message_id, data)
        await api.wait_for(lambda: len(api.answered) == 4)
        sent_before = len([s for s in api.sent if s.method == "editMessageText"])
        api.send_text(alice, chat, "/results 1")
        await api.wait_for(lambda: len(api.sent_to(chat.id)) >= 2)
        assert sent_before == 0, "the poll message was never edited: no vote was counted"
        assert len(api.sent_to(chat.id)) == 2, "forged presses are answered in their pop-up, not in the chat"
        assert "Oak (0)" in str(api.current(chat.id, poll.message_id))
        assert "Lime (0)" in str(api.current(chat.id, poll.message_id))
