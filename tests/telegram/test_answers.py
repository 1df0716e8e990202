"""Button presses are answered exactly once, without holding up the chat's next votes, and in time even
when their votes cannot land yet: python-telegram-bot (unmodified) against our local Bot API server."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from adapters.telegram._answers import ANSWER_WITHIN
from tests.botapi import FakeBotAPI
from tests.botapi._server import Chat, Sent
from tests.telegram.harness import button, start_harness


async def _poll_in_a_group(api: FakeBotAPI, voters: int) -> tuple[Chat, Sent, list[int]]:
    people = [api.user(900 + i, f"V{i}") for i in range(voters)]
    group = api.group(-100900, "Corso Italia", people)
    api.send_text(people[0], group, "/poll@interlink_test_bot Benches? | Yes | No")
    await api.wait_for(lambda: any(s.buttons for s in api.sent_to(group.id)))
    poll = next(s for s in api.sent_to(group.id) if s.buttons)
    return group, poll, [p.id for p in people]


def _failed_answers(api: FakeBotAPI) -> list[int]:
    return [code for method, _params, code in api.calls if method == "answerCallbackQuery" and code != 200]


async def test_a_slow_answer_holds_up_no_vote_of_the_chat(api: FakeBotAPI, tmp_path: Path) -> None:
    """Telegram takes a second to accept each answer: the group's votes still land at once, one after
    the other, and each press gets its own confirmation."""
    async with start_harness(api, tmp_path):
        group, poll, people = await _poll_in_a_group(api, 6)
        api.method_delays["answerCallbackQuery"] = 1.0
        pressed = time.monotonic()
        for person in people:
            api.press(api.users[person], group, poll.message_id, button(poll, "Yes"))
        await api.wait_for(lambda: "Yes (6)" in str(api.current(group.id, poll.message_id)), within=10)
        tallied = time.monotonic() - pressed
        await api.wait_for(lambda: len(api.answered) == 6, within=5)
    assert tallied < 2.5, f"each vote waited for the previous press's answer: all 6 took {tallied:.1f}s"
    assert all(answer.get("text") for answer in api.answered.values()), "each press shows its confirmation"
    assert _failed_answers(api) == [], "answered exactly once, in time"


async def test_presses_a_busy_store_holds_up_are_answered_in_time(api: FakeBotAPI, tmp_path: Path) -> None:
    """The store is locked for longer than Telegram waits for an answer: the presses' spinners stop
    anyway, and the votes land once the store is back."""
    async with start_harness(api, tmp_path):
        group, poll, people = await _poll_in_a_group(api, 3)
        lock = sqlite3.connect(tmp_path / "interlink.db", timeout=2, isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")  # another process writing for a long while
        try:
            pressed = time.monotonic()
            for person in people:
                api.press(api.users[person], group, poll.message_id, button(poll, "Yes"))
            await api.wait_for(lambda: len(api.answered) == 3, within=ANSWER_WITHIN + 2)
            answered = time.monotonic() - pressed
            assert "Yes (0)" in str(api.current(group.id, poll.message_id)), "no vote could land yet"
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        await api.wait_for(lambda: "Yes (3)" in str(api.current(group.id, poll.message_id)), within=20)
    assert answered < ANSWER_WITHIN + 1.5, f"answered {answered:.1f}s after the presses"
    assert _failed_answers(api) == [], "answered exactly once, in time"
