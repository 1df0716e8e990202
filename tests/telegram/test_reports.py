"""Citizen reports on Telegram (python-telegram-bot, unmodified, against the local Bot API): one made in a
private chat (the category by button, a shared venue as the place, a photo downloaded with getFile and kept
without its metadata), one made in a group with privacy mode on (each answer a reply to the bot's question,
a shared location among them); the organiser's status change reaches the citizen privately."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image
from sqlalchemy import select

from interlinkers.reports._models import Report, ReportPhoto
from tests.botapi import Sent
from tests.telegram.test_transcripts import telegram_chat, until


def _jpeg() -> bytes:
    exif = Image.Exif()
    exif[0x0110] = "PhoneModel X"
    out = io.BytesIO()
    Image.new("RGB", (1600, 1200), (30, 120, 200)).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


async def test_a_report_from_a_private_chat_with_a_venue_and_a_photo(tmp_path: Path) -> None:
    async with telegram_chat(tmp_path) as chat:
        api, app = chat.api, chat.harness.app
        await chat.say("@ann /start")  # ann organises the group
        ben = chat.member("ben")
        private = api.private_chat(ben)

        def said() -> list[Sent]:
            return api.sent_to(private.id)

        async def step(expect: str, send: object) -> Sent:
            before = len(said())
            assert send is not None
            assert await until(lambda: any(expect in s.text for s in said()[before:]), 10), [s.text for s in said()]
            return next(s for s in said()[before:] if expect in s.text)

        menu = await step("What is it about?", api.send_text(ben, private, "/report"))
        assert menu.buttons[0][0][0] == "Street lighting"
        await step("describe the problem", api.press(ben, private, menu.message_id, menu.buttons[0][0][1]))
        await step("Where is it?", api.send_text(ben, private, "The light at number 12 is off"))
        await step("Send a photo if you can", api.send_location(ben, private, 45.0703, 7.6869, title="Via Roma 12",
                                                                address="Torino"))
        photos = await step("Photo 1 added", api.send_photo(ben, private, _jpeg(), caption="at night"))
        summary = await step("Your report:", api.press(ben, private, photos.message_id, photos.buttons[0][0][1]))
        assert "Where: Via Roma 12, Torino (45.07030, 7.68690)" in summary.text and "Photos: 1" in summary.text
        await step("Report #1 filed", api.press(ben, private, summary.message_id, summary.buttons[0][0][1]))

        async with app.sessions() as session:
            report = await session.scalar(select(Report))
            photo = await session.scalar(select(ReportPhoto))
        assert report is not None and (report.latitude, report.longitude) == (45.0703, 7.6869)
        assert photo is not None and b"PhoneModel X" not in photo.content and photo.content.startswith(b"\xff\xd8")

        # In the group (privacy mode: answers are replies to the bot's questions), then the organiser's change
        # reaches ben in the private chat he opened.
        await chat.say("@ben /report")
        await chat.say("@ben [6]")
        await chat.say("@ben The bench by the fountain is broken")
        where = api.sent_to(chat.group.id)[-1]
        assert where.text.startswith("Where is it?") and where.force_reply
        api.send_location(ben, chat.group, 45.0710, 7.6850, reply_to=where.message_id)
        assert await until(lambda: api.sent_to(chat.group.id)[-1].text.startswith("Send a photo"), 10)
        await chat.say("@ben [1]")  # Done: no photo
        assert "Report #1 filed: Something else" in (await chat.say("@ben [1]") or "")
        await chat.say("@ann /status 1 acknowledged | Thank you, we will look at it")
        assert await until(lambda: any("Report #1 (Something else) is now: acknowledged" in s.text
                                       for s in said()), 10)


async def test_a_report_begun_in_the_group_continues_privately(tmp_path: Path) -> None:
    """The group's menu offers a link into the private chat; the place is given there, and the report is
    filed for the group (its organisers see it), not for the private chat."""
    async with telegram_chat(tmp_path) as chat:
        api = chat.api
        await chat.say("@ann /start")
        await chat.say("@ben /report")
        menu = api.sent_to(chat.group.id)[-1]
        (link,) = [data for row in menu.buttons for label, data in row if label == "Continue privately"]
        payload = link.split("?start=", 1)[1]
        assert link.startswith("url:https://t.me/") and payload.startswith("reports-g")
        ben = chat.member("ben")
        private = api.private_chat(ben)
        api.send_text(ben, private, f"/start {payload}")
        assert await until(lambda: any("Your report for “Console”" in s.text for s in api.sent_to(private.id)), 10)
        question = api.sent_to(private.id)[-1]
        api.press(ben, private, question.message_id, question.buttons[1][0][1])  # road damage
        assert await until(lambda: "describe the problem" in api.sent_to(private.id)[-1].text, 10)
        api.send_text(ben, private, "A hole in front of my house")
        assert await until(lambda: api.sent_to(private.id)[-1].text.startswith("Where is it?"), 10)
        api.send_location(ben, private, 45.0712, 7.6844)
        assert await until(lambda: api.sent_to(private.id)[-1].text.startswith("Send a photo"), 10)
        done = api.sent_to(private.id)[-1]
        api.press(ben, private, done.message_id, done.buttons[0][0][1])
        assert await until(lambda: api.sent_to(private.id)[-1].text.startswith("Your report:"), 10)
        send = api.sent_to(private.id)[-1]
        api.press(ben, private, send.message_id, send.buttons[0][0][1])
        assert await until(lambda: "Report #1 filed" in api.sent_to(private.id)[-1].text, 10)
        listed = await chat.say("@ann /reports")
        assert listed is not None and "#1 Road or pavement damage — submitted · 45.07120, 7.68440" in listed
        api.send_text(chat.member("cat"), api.private_chat(chat.member("cat")), f"/start {payload}")
        assert await until(lambda: any("not valid any more" in s.text
                                       for s in api.sent_to(api.private_chat(chat.member("cat")).id)), 10), \
            "only the group's members can report for it"
