"""A 429 storm on one chat: that chat waits retry_after, the others keep flowing, nothing is lost."""

from __future__ import annotations

from pathlib import Path

from tests.botapi import FakeBotAPI
from tests.telegram.harness import start_harness


async def test_429_storm_on_one_chat_while_others_flow(api: FakeBotAPI, tmp_path: Path) -> None:
    async with start_harness(api, tmp_path):
        stormy = api.user(501, "Stormy")
        calm = [api.user(510 + i, f"Calm{i}") for i in range(5)]
        api.inject_429(stormy.id, retry_after=1, count=3)  # three 429s in a row: ≥ 3 s of waiting
        api.send_text(stormy, api.private_chat(stormy), "/help")
        await api.wait_for(lambda: len(api.throttled) >= 1)
        throttled_at = api.throttled[0][1]
        for user in calm:
            api.send_text(user, api.private_chat(user), "/help")
        await api.wait_for(lambda: all(api.sent_to(u.id) for u in calm), within=5)
        calm_done = max(api.sent_to(u.id)[0].at for u in calm)
        assert not api.sent_to(stormy.id), "the throttled chat is still waiting"
        assert calm_done - throttled_at < 1.0, "other chats were not held back by the 429"

        await api.wait_for(lambda: api.sent_to(stormy.id), within=10)
        stormy_done = api.sent_to(stormy.id)[0].at
        assert stormy_done - throttled_at >= 2.9, "retry_after was respected every time"
        assert api.sent_to(stormy.id)[0].text == api.sent_to(calm[0].id)[0].text, "delivered, not lost"
        assert len(api.throttled) == 3


async def test_a_chat_in_a_flood_wait_does_not_stop_others_being_heard(api: FakeBotAPI, tmp_path: Path) -> None:
    async with start_harness(api, tmp_path):
        alice, bob = api.user(520, "Alice"), api.user(521, "Bob")
        group = api.group(-100520, "Flooded", [alice])
        api.inject_429(group.id, retry_after=5)
        api.send_text(alice, group, "/poll@interlink_test_bot Stuck? | Yes | No")  # waits 5 s to be shown
        await api.wait_for(lambda: len(api.throttled) == 1)
        asked = api.throttled[0][1]
        api.send_text(bob, api.private_chat(bob), "/help")
        await api.wait_for(lambda: api.sent_to(bob.id), within=4)
        assert api.sent_to(bob.id)[0].at - asked < 3.5, "Bob was answered while the group waited"
        assert not api.sent_to(group.id)
        await api.wait_for(lambda: api.sent_to(group.id), within=10)
        assert "Stuck?" in api.sent_to(group.id)[0].text
