"""Enforced Telegram limits are respected without a single 429; edits coalesce; bad settings name the key."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from adapters.telegram import TelegramAdapter
from adapters.telegram._config import parse_rate
from bot.config import ConfigError, load_settings
from bot.events import ChatRef, Edit, Reply
from tests.botapi import FakeBotAPI, Limits
from tests.telegram.harness import button, environment, start_harness


async def test_sends_within_enforced_limits_never_trigger_429(tmp_path: Path) -> None:
    limits = Limits(per_chat=(1, 0.2), per_group=(3, 1.0), global_=(20, 1.0), enforce=True)
    async with FakeBotAPI(limits=limits) as api:
        env = environment(api, tmp_path, rate_per_chat="1/0.2s", rate_per_group="3/s", rate_global="20/s")
        adapter = TelegramAdapter.from_settings(load_settings(environ=env))
        assert adapter is not None
        await adapter.bot.initialize()
        users = [api.user(800 + i, f"U{i}") for i in range(10)]
        group = api.group(-100800, "Busy group", users)
        chats = [ChatRef("telegram", str(api.private_chat(u).id), is_private=True) for u in users]
        chats.append(ChatRef("telegram", str(group.id)))
        async def six(chat: ChatRef) -> None:  # each chat in order, all chats at once (as the core's sender)
            for n in range(6):
                await adapter.send(chat, Reply(f"message {n}"))

        await asyncio.gather(*(six(chat) for chat in chats))
        assert await adapter.queue.flush(30)
        await adapter.queue.close()
        await adapter.bot.shutdown()
        assert api.throttled == []
        assert len(api.sent) == 6 * len(chats), "every message delivered"
        for user in users:
            assert [s.text for s in api.sent_to(user.id)] == [f"message {n}" for n in range(6)], "in order"
        group_times = [s.at for s in api.sent_to(group.id)]
        assert group_times[3] - group_times[0] >= 1.0, "the group got at most 3 messages a second"


async def test_busy_poll_is_edited_far_fewer_times_than_it_is_voted_on(api: FakeBotAPI, tmp_path: Path) -> None:
    async with start_harness(api, tmp_path, rate_per_chat="1/s", rate_per_group="20/min"):
        organiser = api.user(900, "Org")
        voters = [api.user(901 + i, f"V{i}") for i in range(30)]
        group = api.group(-100900, "Square", [organiser, *voters], admins=[organiser])
        api.send_text(organiser, group, "/poll@interlink_test_bot Fountain? | Keep | Replace")
        await api.wait_for(lambda: any(s.buttons for s in api.sent_to(group.id)))
        poll = next(s for s in api.sent_to(group.id) if s.buttons)
        for voter in voters:
            api.press(voter, group, poll.message_id, button(poll, "Keep"))
        await api.wait_for(lambda: len(api.answered) == len(voters))
        await api.wait_for(lambda: "Keep (30)" in str(api.current(group.id, poll.message_id)), within=15)
        edits = [s for s in api.sent_to(group.id) if s.method == "editMessageText"]
        assert len(edits) <= 5, f"{len(edits)} edits for 30 votes"
        assert api.throttled == []


async def test_adapter_is_off_without_token_and_bad_values_name_their_key(tmp_path: Path) -> None:
    async with FakeBotAPI() as api:
        env = environment(api, tmp_path)
        del env["INTERLINK_TELEGRAM_TOKEN"]
        assert TelegramAdapter.from_settings(load_settings(environ=env)) is None
        for key, value in (("TOKEN", "not a token"), ("API_URL", "127.0.0.1:1"), ("RATE_PER_CHAT", "fast"),
                           ("WEBHOOK_SECRET", "has spaces")):
            bad = {**environment(api, tmp_path), f"INTERLINK_TELEGRAM_{key}": value}
            with pytest.raises(ConfigError, match=f"INTERLINK_TELEGRAM_{key}"):
                TelegramAdapter.from_settings(load_settings(environ=bad))


def test_rates_read_like_telegram_documents_them() -> None:
    assert parse_rate("1/s") == (1, 1.0)
    assert parse_rate("20/min") == (20, 60.0)
    assert parse_rate("30") == (30, 1.0)
    assert parse_rate("0.5") == (1, 2.0)
    assert parse_rate("1/0.2s") == (1, 0.2)


async def test_edit_without_known_message_becomes_a_new_message(api: FakeBotAPI, tmp_path: Path) -> None:
    async with start_harness(api, tmp_path) as harness:
        chat = api.private_chat(api.user(950, "Eve"))
        ref = ChatRef("telegram", str(chat.id), is_private=True)
        message_id = await harness.adapter.send(ref, Reply("Tally: 0", key="k"))
        assert message_id is not None
        await harness.adapter.send(ref, Edit("k", "Tally: 1", message_id=message_id))
        await harness.adapter.send(ref, Edit("k", "Tally: 1", message_id=message_id))  # not modified: fine
        await harness.adapter.send(ref, Edit("gone", "Fresh", message_id=None))
        await asyncio.wait_for(harness.adapter.queue.flush(5), 6)
        assert api.current(chat.id, int(message_id))["text"] == "Tally: 1"
        assert api.sent_to(chat.id)[-1].text == "Fresh"


async def test_messages_waiting_for_a_limit_survive_a_restart(api: FakeBotAPI, tmp_path: Path) -> None:
    gina = api.user(990, "Gina")
    group = api.group(-100990, "Slow group", [gina])
    async with start_harness(api, tmp_path, rate_per_group="1/min", flush_timeout="0.3"):
        for n in range(3):
            api.send_text(gina, group, f"/poll Announcement {n}? | Yes | No")
        await api.wait_for(lambda: len(api.sent_to(group.id)) == 1)
        await api.wait_for(lambda: api.pending_updates == 0)
    assert len(api.sent_to(group.id)) == 1, "the other two were waiting for the group limit at shutdown"
    async with start_harness(api, tmp_path):
        await api.wait_for(lambda: len(api.sent_to(group.id)) == 3)
    assert [s.text.splitlines()[0] for s in api.sent_to(group.id)] == [
        f"Poll #{n + 1}: Announcement {n}?" for n in range(3)]


def test_webhook_url_without_a_path_gets_the_documented_one(tmp_path: Path) -> None:
    (tmp_path / "none.toml").write_text("")
    env = {"INTERLINK_STATE_DIR": str(tmp_path), "INTERLINK_SECRET": "x" * 20,
           "INTERLINK_CONFIG": str(tmp_path / "none.toml"),
           "INTERLINK_TELEGRAM_TOKEN": "1:abc", "INTERLINK_TELEGRAM_WEBHOOK_URL": "https://bot.example.org"}
    adapter = TelegramAdapter.from_settings(load_settings(environ=env))
    assert adapter is not None
    assert adapter.config.webhook_url == "https://bot.example.org/telegram/webhook"
    assert adapter.config.webhook_path == "/telegram/webhook"
    assert adapter.config.webhook_secret, "never an unauthenticated webhook"
