"""The fake Bot API server, driven by python-telegram-bot's plain ``Bot`` as a real client would."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.error import BadRequest, Conflict, RetryAfter

from tests.botapi import FakeBotAPI, Limits, parse_html


@pytest.fixture
async def server() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as srv:
        yield srv


@pytest.fixture
async def bot(server: FakeBotAPI) -> AsyncIterator[Bot]:
    client = Bot(server.token, base_url=f"{server.url}/bot", base_file_url=f"{server.url}/file/bot")
    async with client:
        yield client


async def test_get_me_and_private_message_round_trip(server: FakeBotAPI, bot: Bot) -> None:
    assert bot.username == "interlink_test_bot"
    alice = server.user(11, "Alice", "it")
    chat = server.private_chat(alice)
    server.send_text(alice, chat, "/start@interlink_test_bot hello")
    updates = await bot.get_updates(timeout=1)
    assert len(updates) == 1
    message = updates[0].message
    assert message is not None and message.from_user is not None
    assert message.from_user.language_code == "it"
    assert message.entities[0].type == "bot_command"
    assert message.entities[0].length == len("/start@interlink_test_bot")
    sent = await bot.send_message(chat.id, "<b>hi</b> &amp; bye", parse_mode="HTML")
    assert server.sent[-1].text == "hi & bye"
    assert sent.text == "hi & bye"


async def test_offset_confirms_and_unconfirmed_updates_are_redelivered(server: FakeBotAPI, bot: Bot) -> None:
    alice = server.user(11, "Alice")
    chat = server.private_chat(alice)
    first = server.send_text(alice, chat, "one")
    server.send_text(alice, chat, "two")
    assert [u.update_id for u in await bot.get_updates()] == [first, first + 1]
    assert [u.update_id for u in await bot.get_updates()] == [first, first + 1]  # not confirmed yet
    assert [u.update_id for u in await bot.get_updates(offset=first + 1)] == [first + 1]
    assert await bot.get_updates(offset=first + 2, timeout=0) == ()


async def test_long_poll_waits_then_returns_new_update(server: FakeBotAPI, bot: Bot) -> None:
    alice = server.user(11, "Alice")
    chat = server.private_chat(alice)
    started = time.monotonic()
    assert await bot.get_updates(timeout=0.3) == ()
    assert time.monotonic() - started >= 0.25

    async def later() -> None:
        await asyncio.sleep(0.2)
        server.send_text(alice, chat, "late")

    task = asyncio.create_task(later())
    updates = await bot.get_updates(timeout=5)
    await task
    assert updates[0].message is not None and updates[0].message.text == "late"


async def test_limits_and_real_error_texts(server: FakeBotAPI, bot: Bot) -> None:
    chat = server.private_chat(server.user(11, "Alice"))
    with pytest.raises(BadRequest, match=r"(?i)Message is too long"):
        await bot.send_message(chat.id, "x" * 4097)
    await bot.send_message(chat.id, "&amp;" * 4096, parse_mode="HTML")  # 4096 after parsing is fine
    unclosed = r"(?i)can't parse entities: can't find end tag corresponding to start tag \"b\""
    with pytest.raises(BadRequest, match=unclosed):
        await bot.send_message(chat.id, "<b>&", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)Unsupported start tag \"x\" at byte offset 2"):
        await bot.send_message(chat.id, "a <x>", parse_mode="HTML")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="x" * 65)]])
    with pytest.raises(BadRequest, match=r"(?i)Button_data_invalid"):
        await bot.send_message(chat.id, "vote", reply_markup=keyboard)
    with pytest.raises(BadRequest, match=r"(?i)Chat not found"):
        await bot.send_message(424242, "nobody")
    message = await bot.send_message(chat.id, "same")
    with pytest.raises(BadRequest, match=r"(?i)Message is not modified"):
        await bot.edit_message_text("same", chat.id, message.message_id)
    await bot.edit_message_text("changed", chat.id, message.message_id)
    assert server.current(chat.id, message.message_id)["text"] == "changed"


async def test_callback_query_must_be_answered_once(server: FakeBotAPI, bot: Bot) -> None:
    alice = server.user(11, "Alice")
    chat = server.private_chat(alice)
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="v1:yes")]])
    message = await bot.send_message(chat.id, "Vote?", reply_markup=keyboard)
    assert server.sent[-1].buttons == [[("Yes", "v1:yes")]]
    server.press(alice, chat, message.message_id, "v1:yes")
    (update,) = await bot.get_updates()
    query = update.callback_query
    assert query is not None and query.data == "v1:yes" and query.message is not None
    await bot.answer_callback_query(query.id, text="Counted", show_alert=True)
    assert server.answered[query.id]["show_alert"] is True
    with pytest.raises(BadRequest, match=r"(?i)Query is too old"):
        await bot.answer_callback_query(query.id)


async def test_injected_429_and_enforced_rates() -> None:
    async with FakeBotAPI(limits=Limits(per_chat=(1, 0.5), enforce=True)) as server:
        async with Bot(server.token, base_url=f"{server.url}/bot") as bot:
            alice = server.private_chat(server.user(11, "Alice"))
            bob = server.private_chat(server.user(12, "Bob"))
            server.inject_429(alice.id, retry_after=3)
            with pytest.raises(RetryAfter, match="Retry in 3"):
                await bot.send_message(alice.id, "hi")
            await bot.send_message(bob.id, "first")
            with pytest.raises(RetryAfter):
                await bot.send_message(bob.id, "too soon")
            await asyncio.sleep(0.55)
            await bot.send_message(bob.id, "later")
            assert [s.text for s in server.sent_to(bob.id)] == ["first", "later"]


async def test_group_admins_and_documents(server: FakeBotAPI, bot: Bot) -> None:
    alice, bob = server.user(11, "Alice"), server.user(12, "Bob")
    group = server.group(-100123, "Neighbours", [alice, bob], admins=[alice])
    assert (await bot.get_chat_member(group.id, alice.id)).status == "administrator"
    assert (await bot.get_chat_member(group.id, bob.id)).status == "member"
    assert [m.user.id for m in await bot.get_chat_administrators(group.id)] == [alice.id]
    assert server.send_text(bob, group, "not for the bot") is None  # privacy mode
    server.send_as_anonymous_admin(group, "/close 1")
    (update,) = await bot.get_updates()
    assert update.message is not None and update.message.sender_chat is not None
    assert update.message.sender_chat.id == group.id
    await bot.send_document(group.id, InputFile(b"BEGIN:VCALENDAR", filename="meet.ics"), caption="<i>x</i>",
                            parse_mode="HTML")
    assert server.sent[-1].filename == "meet.ics" and server.sent[-1].content == b"BEGIN:VCALENDAR"
    assert server.sent[-1].text == "x"


async def test_webhook_delivery_with_secret_and_getupdates_conflict(server: FakeBotAPI, bot: Bot) -> None:
    received: list[tuple[str | None, int]] = []

    async def hook(request: aiohttp.web.Request) -> aiohttp.web.Response:
        received.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"),
                         (await request.json())["update_id"]))
        return aiohttp.web.Response(status=500 if len(received) == 1 else 200)

    app = aiohttp.web.Application()
    app.router.add_post("/hook", hook)
    runner = aiohttp.web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = aiohttp.web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret")
        with pytest.raises(Conflict):
            await bot.get_updates()
        alice = server.user(11, "Alice")
        update_id = server.send_text(alice, server.private_chat(alice), "hello")
        await server.wait_for(lambda: server.pending_updates == 0, within=5)
        assert received == [("s3cret", update_id), ("s3cret", update_id)]  # retried after the 500
        assert (await bot.get_webhook_info()).url.endswith("/hook")
        await bot.delete_webhook()
    finally:
        await runner.cleanup()


def test_html_parser_matches_telegram_rules() -> None:
    assert parse_html("a &lt;b&gt; &amp; &quot; &#65; & b") == 'a <b> & " A & b'
    assert parse_html('<a href="https://x">link</a> <span class="tg-spoiler">s</span>') == "link s"
