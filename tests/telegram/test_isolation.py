"""No chat waits for another, no forged press reaches a group, and no reply is lost to a SIGKILL while it
waits for a rate limit: python-telegram-bot (unmodified) against our local Bot API server."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.botapi import FakeBotAPI
from tests.botapi._server import Chat, User
from tests.telegram.harness import button, environment, start_harness


def _first_text_at(api: FakeBotAPI, chat_id: int, fragment: str) -> float | None:
    return next((s.at for s in api.sent_to(chat_id) if fragment in s.text), None)


async def test_forged_and_stale_presses_are_answered_in_the_pop_up_and_cost_the_group_nothing(
    api: FakeBotAPI, tmp_path: Path
) -> None:
    ann, eve = api.user(801, "Ann"), api.user(802, "Eve")
    group = api.group(-100801, "Via Roma", [ann, eve])
    async with start_harness(api, tmp_path):
        api.send_text(ann, group, "/poll Benches? | Yes | No")
        await api.wait_for(lambda: len(api.sent_to(group.id)) == 1)
        poll = api.sent_to(group.id)[0]
        real = button(poll, "Yes")
        forged = [real[:-1] + ("A" if real[-1] != "A" else "B"), "1.polls.v.1.1", "garbage", real.replace(".1~", ".9~")]
        for data in forged:
            api.press(eve, group, poll.message_id, data)
        await api.wait_for(lambda: len(api.answered) == len(forged))
        await asyncio.sleep(0.5)
    assert [s.text for s in api.sent_to(group.id)][1:] == [], "nothing was posted in the group"
    for answer in api.answered.values():
        assert answer["text"] == "This button is not valid any more. Send /help to start again."
        assert answer["show_alert"] is True


async def _while_another_chat_waits(api: FakeBotAPI, tmp_path: Path, slow: tuple[User, Chat, str],
                                   fast: tuple[User, Chat, str], make_slow: Callable[[], None]) -> float:
    """Make one chat slow, ask in it, then ask in another: how long the other waited for its answer
    (and it must come before the slow one's)."""
    (slow_user, slow_chat, slow_question), (fast_user, fast_chat, fast_question) = slow, fast
    async with start_harness(api, tmp_path):
        api.send_text(fast_user, fast_chat, "/start")
        await api.wait_for(lambda: _first_text_at(api, fast_chat.id, "Hello") is not None)
        make_slow()
        api.send_text(slow_user, slow_chat, f"/poll {slow_question} | Yes | No")
        await asyncio.sleep(0.3)  # the slow chat is waiting; someone writes in another chat
        asked = time.monotonic()
        api.send_text(fast_user, fast_chat, f"/poll {fast_question} | Yes | No")
        await api.wait_for(lambda: _first_text_at(api, fast_chat.id, fast_question) is not None)
        await api.wait_for(lambda: _first_text_at(api, slow_chat.id, slow_question) is not None, within=15)
    answered = _first_text_at(api, fast_chat.id, fast_question)
    assert answered is not None and answered < (_first_text_at(api, slow_chat.id, slow_question) or 0)
    return answered - asked


async def test_a_chat_waiting_out_a_429_delays_no_other_chat(api: FakeBotAPI, tmp_path: Path) -> None:
    alice, bob = api.user(811, "Alice"), api.user(812, "Bob")
    a, b = api.private_chat(alice), api.private_chat(bob)
    waited = await _while_another_chat_waits(api, tmp_path, (alice, a, "Swings?"), (bob, b, "Slides?"),
                                             lambda: api.inject_429(a.id, retry_after=4))
    assert waited < 1.2, f"Bob waited {waited:.1f}s for Alice's 429"


async def test_a_slow_network_call_for_one_group_stalls_no_private_chat(api: FakeBotAPI, tmp_path: Path) -> None:
    """getChatAdministrators happens before the update's transaction: while it is slow for one group,
    the store is not locked and another chat is answered at once."""
    gina, hal = api.user(821, "Gina"), api.user(822, "Hal")
    group = api.group(-100821, "Slow admins", [gina], admins=[gina])
    private = api.private_chat(hal)
    waited = await _while_another_chat_waits(api, tmp_path, (gina, group, "Meeting?"), (hal, private, "Lunch?"),
                                             lambda: api.method_delays.__setitem__("getChatAdministrators", 4.0))
    assert waited < 1.2, f"Hal waited {waited:.1f}s for a group"


def _spawn(api: FakeBotAPI, state_dir: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTERLINK_")}
    env.update(environment(api, state_dir))
    env["INTERLINK_TELEGRAM_RATE_PER_CHAT"] = "3/s"  # replies pile up behind the limit
    interlink = Path(sys.executable).with_name("interlink")
    return subprocess.Popen([str(interlink), "run"], env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)


def _answers(api: FakeBotAPI, chat_id: int) -> list[str]:
    return [m.group(1) for s in api.sent_to(chat_id) if (m := re.search(r"command /(x\d+)", s.text))]


async def test_sigkill_loses_no_reply_waiting_for_the_rate_limit(api: FakeBotAPI, tmp_path: Path) -> None:
    """Defect 1: a burst into three chats, SIGKILL while most replies wait for the per-chat limit,
    restart: every committed command is answered (a message in flight at the kill may show twice)."""
    people = [api.user(830 + i, f"P{i}") for i in range(3)]
    chats = [api.private_chat(p) for p in people]
    per_chat = 12
    for n in range(per_chat):
        for person, chat in zip(people, chats, strict=True):
            api.send_text(person, chat, f"/x{n}")
    log = tmp_path / "interlink.log"
    process = _spawn(api, tmp_path, log)
    try:
        await api.wait_for(lambda: sum(len(_answers(api, c.id)) for c in chats) >= 6, within=30)
        await api.wait_for(lambda: api.pending_updates == 0, within=30)  # all were committed
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        shown_before = sum(len(_answers(api, c.id)) for c in chats)
        assert shown_before < 3 * per_chat, "killed while replies were still waiting"
        process = _spawn(api, tmp_path, log)
        await api.wait_for(lambda: all(len(set(_answers(api, c.id))) == per_chat for c in chats), within=60)
        await asyncio.sleep(1.0)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            await asyncio.to_thread(process.wait, 20)
    for chat in chats:
        answers = _answers(api, chat.id)
        assert sorted(set(answers), key=lambda x: int(x[1:])) == [f"x{n}" for n in range(per_chat)], log.read_text()
        assert len(answers) - per_chat <= 1, f"shown more than once: {answers}"
        assert answers == sorted(answers, key=lambda x: int(x[1:])), "each chat's answers stay in order"
