"""What people in a Matrix room see when they report a broken streetlight: the category asked with numbered
options (answered by a reaction), a description, the place shared as an ``m.location``, a photo uploaded to
the media repository (kept without its EXIF), the summary sent; then an organiser's status change told to the
reporter alone, in a direct room the bot opens. Last, the photo step again in an encrypted room, where the
image is an encrypted attachment the bot must decrypt (real Synapse, real core)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from nio import RoomMessageText, UploadResponse
from PIL import Image
from sqlalchemy import select

from interlinkers.reports._models import Follower, Report, ReportPhoto
from tests.matrix.harness import room_with_bot, running_bot
from tests.matrix.reading import bot_texts, history, invited_by, react, said, seen_in
from tests.synapse.fixtures import UserFactory
from tests.synapse.server import SynapseServer
from tests.synapse.users import MatrixUser

CAMERA = "PhoneModel X"
ASK_WHAT = "What is it about? Choose below, or write it."
ASK_DESCRIPTION = "Street lighting: describe the problem in a few words."
ASK_PLACE = "Where is it? Share a location, or write the address or the coordinates"
ASK_PHOTO = "Send a photo if you can (up to 3), then press Done."
PHOTO_ADDED = "Photo 1 added. Send another, or press Done."
SUMMARY = "Your report:"
FILED = "Report #1 filed: Street lighting."
NEWS = "Report #1 (Street lighting) is now: in progress."
NOTE = "Note: A technician is on the way"


def _photo_with_exif() -> bytes:
    """A real JPEG whose EXIF names the phone that took it (what the bot must not keep)."""
    exif = Image.Exif()
    exif[0x0110] = CAMERA  # Model
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 180, 40)).save(out, "JPEG", exif=exif)
    jpeg = out.getvalue()
    assert CAMERA.encode() in jpeg
    return jpeg


async def _send_photo(user: MatrixUser, room: str, jpeg: bytes, *, encrypt: bool = False) -> None:
    """An ``m.image`` as a client sends it: uploaded first, then the event with its ``mxc://`` url (in an
    encrypted room, the attachment encrypted and its key, hashes and iv in ``file``)."""
    upload, keys = await user.client.upload(io.BytesIO(jpeg), content_type="image/jpeg", filename="lamp.jpg",
                                            encrypt=encrypt, filesize=len(jpeg))
    assert isinstance(upload, UploadResponse), upload
    content: dict[str, Any] = {"msgtype": "m.image", "body": "lamp.jpg",
                               "info": {"mimetype": "image/jpeg", "size": len(jpeg)}}
    if encrypt:
        assert keys is not None and {"key", "hashes", "iv"} <= keys.keys(), keys
        content["file"] = {"url": upload.content_uri, "mimetype": "image/jpeg", **keys}
    else:
        content["url"] = upload.content_uri
    await user.send_event(room, "m.room.message", content)


def _options(body: str, *labels: str) -> bool:
    """The buttons as numbered options, in this order, with the hint to answer by number or reaction."""
    block = "\n".join(f"{n}. {label}" for n, label in enumerate(labels, start=1))
    return f"\n\n{block}\n" in body and "react with it" in body


async def test_a_report_with_a_shared_place_and_a_photo_and_its_status_told_privately(
    synapse: SynapseServer, matrix_user: UserFactory, tmp_path: Path
) -> None:
    bot = await matrix_user("bot")
    ann = await matrix_user("ann")  # creates the room: an organiser
    ben = await matrix_user("ben", e2e=True)  # e2e for the last part; plain rooms work the same for him
    jpeg = _photo_with_exif()
    async with running_bot(synapse, tmp_path, bot.localpart) as (app, _adapter):
        room = await room_with_bot(ann, bot.user_id, ben)
        await ben.sync_once()  # an e2e client sends only to rooms it has synced

        # 1. The organiser speaks first; ben reports, choosing the category by reacting 1️⃣.
        await ann.send_text(room, "/start")
        await ann.wait_for(lambda e: said(e, bot.user_id, f"Hello {ann.localpart}"), description="the welcome")
        await ben.send_text(room, "/report")
        what = await ben.wait_for(lambda e: said(e, bot.user_id, ASK_WHAT), description="the categories")
        assert _options(what.body, "Street lighting", "Road or pavement damage", "Litter and waste",
                        "Graffiti and vandalism", "Parks and trees", "Something else"), what.body
        assert "<ol><li>Street lighting</li>" in what.source["content"]["formatted_body"]
        await react(ben, room, what.event_id, "1️⃣")
        await ben.wait_for(lambda e: said(e, bot.user_id, ASK_DESCRIPTION), description="the description asked")
        await ben.send_text(room, "The streetlight at the corner is out")

        # 2. The place: a shared location (an m.location with its geo URI) answers the step.
        await ben.wait_for(lambda e: said(e, bot.user_id, ASK_PLACE), description="the place asked")
        await ben.send_event(room, "m.room.message", {"msgtype": "m.location", "body": "Via Roma 12",
                                                      "geo_uri": "geo:45.0703,7.6869"})
        ask_photo = await ben.wait_for(lambda e: said(e, bot.user_id, ASK_PHOTO), description="a photo asked")
        assert _options(ask_photo.body, "Done"), ask_photo.body

        # 3. A photo, uploaded to the media repository and sent as an m.image.
        await _send_photo(ben, room, jpeg)
        added = await ben.wait_for(lambda e: said(e, bot.user_id, PHOTO_ADDED), description="the photo taken")
        assert _options(added.body, "Done"), added.body

        # 4. Done, then Send under the summary.
        await react(ben, room, added.event_id, "1️⃣")
        summary = await ben.wait_for(lambda e: said(e, bot.user_id, SUMMARY), description="the summary")
        assert summary.body.startswith("\n".join([
            SUMMARY, "What: Street lighting", "Description: The streetlight at the corner is out",
            "Where: Via Roma 12 (45.07030, 7.68690)", "Photos: 1", "Send it to the municipality?"])), summary.body
        assert _options(summary.body, "Send", "Cancel"), summary.body
        await react(ben, room, summary.event_id, "1️⃣")
        await ben.wait_for(lambda e: said(e, bot.user_id, FILED), description="the report filed")

        async with app.services.sessions() as session:
            (report,) = (await session.scalars(select(Report))).all()
            assert (report.number, report.service_code, report.status) == (1, "streetlight", "submitted")
            assert report.description == "The streetlight at the corner is out"
            assert (report.latitude, report.longitude, report.address) == (45.0703, 7.6869, "Via Roma 12")
            (photo,) = (await session.scalars(select(ReportPhoto).where(ReportPhoto.report_id == report.id))).all()
            followers = (await session.scalars(select(Follower).where(Follower.report_id == report.id))).all()
        assert len(followers) == 1
        assert CAMERA.encode() not in photo.content, "the phone's model was kept with the photo"
        with Image.open(io.BytesIO(photo.content)) as kept:
            assert kept.format == "JPEG" and kept.size == (64, 48)
            assert not kept.getexif(), dict(kept.getexif())

        # 5. The organiser moves it on: the room hears it briefly, ben privately with the note.
        await ann.send_text(room, "/status 1 in progress | A technician is on the way")
        await ann.wait_for(lambda e: said(e, bot.user_id, "Report #1 is now: in progress."),
                           description="the change confirmed in the room")
        direct = await invited_by(ben, bot.user_id)
        assert direct != room
        await ben.join(direct)
        await ben.sync_once()
        news = await seen_in(ben, direct, lambda e: said(e, bot.user_id, NEWS), "the status news")
        assert news.body == f"{NEWS}\n{NOTE}", news.body

        # Each message exactly once: the news only in ben's direct room, nobody else invited.
        group = bot_texts(await history(ann, room), bot.user_id)
        expected = [f"Hello {ann.localpart}", ASK_WHAT, ASK_DESCRIPTION, ASK_PLACE, ASK_PHOTO, PHOTO_ADDED,
                    SUMMARY, FILED, "Report #1 is now: in progress."]
        assert len(group) == len(expected), group
        for text, needle in zip(group, expected, strict=True):
            assert needle in text, (needle, group)
        assert not [b for b in group if NEWS in b or NOTE in b], "the news belongs in the direct room"
        assert bot_texts(await history(ben, direct), bot.user_id) == [news.body]
        joined = await ben.client.joined_members(direct)
        assert sorted(m.user_id for m in joined.members) == sorted([bot.user_id, ben.user_id])
        await ann.sync_once()
        assert not [r for r, info in ann.client.invited_rooms.items() if info.inviter == bot.user_id]

        # 6. The photo step in an encrypted room: ben's own, with an encrypted attachment; answered by
        # typing the numbers; cancelled at the summary.
        secret = await room_with_bot(ben, bot.user_id, direct=True, encrypted=True)
        await ben.sync_once()

        def said_secretly(*needles: str) -> Any:
            return lambda e: getattr(e, "decrypted", False) and said(e, bot.user_id, *needles)

        await ben.send_text(secret, "/report")
        await ben.wait_for(said_secretly(ASK_WHAT), within=30, description="the categories, encrypted")
        await ben.send_text(secret, "1")
        await ben.wait_for(said_secretly(ASK_DESCRIPTION), description="the description asked, encrypted")
        await ben.send_text(secret, "Another dark lamp")
        await ben.wait_for(said_secretly(ASK_PLACE), description="the place asked, encrypted")
        await ben.send_text(secret, "45.0710, 7.6900")
        await ben.wait_for(said_secretly(ASK_PHOTO), description="a photo asked, encrypted")
        await _send_photo(ben, secret, jpeg, encrypt=True)
        await ben.wait_for(said_secretly(PHOTO_ADDED), description="the encrypted photo taken")
        await ben.send_text(secret, "1")
        private_summary = await ben.wait_for(said_secretly(SUMMARY, "Photos: 1"), description="the summary")
        assert "Where: (45.07100, 7.69000)" in private_summary.body, private_summary.body
        await ben.send_text(secret, "2")
        await ben.wait_for(said_secretly("Nothing was filed."), description="the report cancelled")

        async with app.services.sessions() as session:
            assert len((await session.scalars(select(Report))).all()) == 1
        secret_texts = [e.body for e in ben.events if isinstance(e, RoomMessageText) and e.sender == bot.user_id
                        and getattr(e, "decrypted", False)]
        assert not [b for b in secret_texts if NEWS in b], "the news came a second time"
