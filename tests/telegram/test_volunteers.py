"""Volunteers on the local Bot API, python-telegram-bot unmodified: the organiser's check-in code is never
shown in the group (held until they open the private chat, then delivered with a QR photo of the check-in
link), and a volunteer checks in by following that link (``/start volunteers-…``) in their private chat."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from interlinkers.volunteers._models import Shift, Signup
from tests.telegram.test_transcripts import telegram_chat, until


async def test_check_in_code_privately_with_a_qr_photo_and_check_in_by_link(tmp_path: Path) -> None:
    async with telegram_chat(tmp_path) as chat:
        api, app = chat.api, chat.harness.app
        await chat.say("@ann /start")
        soon = (datetime.now(UTC) + timedelta(minutes=30)).astimezone(app.settings.tz)
        later = soon + timedelta(hours=2)
        await chat.say(f"@ann /shift Food bank | {soon:%Y-%m-%d %H:%M}-{later:%H:%M} | 2")
        await chat.say("@ben /signup 1")
        asked = await chat.say("@ann /checkincode 1")
        assert asked is not None and "as soon as you open a private chat with me" in asked
        async with app.sessions() as session:
            shift = await session.scalar(select(Shift))
        assert shift is not None
        assert all(shift.code not in s.text for s in api.sent_to(chat.group.id)), "the code stays out of the group"

        ann = chat.member("ann")
        ann_private = api.private_chat(ann)
        api.send_text(ann, ann_private, "/start")
        assert await until(lambda: any(s.method == "sendPhoto" for s in api.sent_to(ann_private.id)), 10)
        text = next(s.text for s in api.sent_to(ann_private.id) if s.method == "sendMessage")
        assert "Check-in code for shift #1 “Food bank”" in text and shift.code in text
        photo = next(s for s in api.sent_to(ann_private.id) if s.method == "sendPhoto")
        assert photo.content is not None and photo.content.startswith(b"\x89PNG") and "Scan to check in" in photo.text

        # The QR code holds the bot's deep link; Telegram turns it into /start <payload> in ben's private chat.
        link = f"volunteers-c{shift.id}_{shift.code}"
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", link), "a payload Telegram accepts"
        ben = chat.member("ben")
        ben_private = api.private_chat(ben)
        api.send_text(ben, ben_private, f"/start {link}")
        assert await until(lambda: any("Checked in for shift #1" in s.text for s in api.sent_to(ben_private.id)), 10)
        api.send_text(ben, ben_private, f"/start volunteers-c{shift.id}_000000x")
        assert await until(lambda: any("No shift of yours is open" in s.text for s in api.sent_to(ben_private.id)), 10)
        async with app.sessions() as session:
            checked = await session.scalar(select(Signup.checked_in_at))
        assert checked is not None


async def test_a_freed_place_is_offered_in_the_group_to_someone_the_bot_cannot_write_to(tmp_path: Path) -> None:
    """eve never started the bot: the offer of ben's freed place is made in the group, naming her, with its
    buttons; only she can take it, by pressing or typing."""
    async with telegram_chat(tmp_path) as chat:
        api = chat.api
        await chat.say("@ann /start")
        await chat.say("@ann /shift Food bank | 2027-03-06 09:00-12:00 | 1")
        await chat.say("@ben /signup 1")
        assert "number 1 on its waiting list" in (await chat.say("@eve /signup 1") or "")
        offered = await chat.say("@ben /withdraw 1")
        assert offered is not None and "eve: a place is free on shift #1, and you are first in line" in offered
        assert "[1] Take the place  [2] Give it up" in offered
        assert not api.sent_to(api.private_chat(chat.member("eve")).id), "Telegram forbids writing first"
        await chat.say("@fay [1]")
        assert chat.popup is not None and "not yours" in chat.popup
        await chat.say("@eve [1]")
        assert chat.popup is not None and "The place on shift #1 is yours" in chat.popup
        card = next(s for s in reversed(api.sent) if s.text.startswith("Shift #1: Food bank"))
        assert "Volunteers: eve" in api.current(chat.group.id, card.message_id)["text"]
