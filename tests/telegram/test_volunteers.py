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
