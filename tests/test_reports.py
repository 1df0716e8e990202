"""Citizen reports as a citizen and a municipality live them: a report made step by step with a photo (kept
without its metadata, served through an unguessable link), a nearby report of the same kind offered
instead of a duplicate, statuses pushed to everyone following, "still broken" reopening a fixed report,
what the PA receives, and forgetting the reporter. On SQLite and PostgreSQL."""

from __future__ import annotations

import argparse
import asyncio
import io
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree

import aiohttp
from PIL import Image
from sqlalchemy import select, update

from bot.config import Settings
from interlinkers.reports import Reports
from interlinkers.reports._models import Follower, Report, ReportPhoto, StatusChange
from interlinkers.reports._shared import SERVICES
from storage.models import Outcome
from tests.conftest import ConsoleChat, altered, running_console


def _photo(path: Path) -> None:
    image = Image.new("RGB", (3000, 2000), (30, 120, 200))
    exif = Image.Exif()
    exif[0x0110] = "PhoneModel X"  # the camera model, as phones write it (with the GPS position)
    image.save(path, "JPEG", exif=exif.tobytes())


async def test_a_report_with_a_photo_its_duplicate_and_its_statuses(
        database_url: str, make_settings: Callable[..., Settings], tmp_path: Path) -> None:
    async with running_console(make_settings(database_url), http=True) as chat:
        app, say = chat.app, chat.say
        picture = tmp_path / "light.jpg"
        await asyncio.to_thread(_photo, picture)
        await say("@ann /start")
        assert "[1] Street lighting" in await say("@ben /report")
        assert "Street lighting: describe the problem in a few words." in await say("@ben [1]")
        assert "Describe the problem in a few words (up to 2000 characters)." in await say("@ben ok")
        assert "Where is it?" in await say("@ben The streetlight in front of number 12 is off.")
        assert "Send a photo if you can" in await say("@ben Via Roma 12 (45.07030, 7.68690)")
        assert "Send a photo, or press Done." in await say("@ben here it is")
        assert "Photo 1 added" in await say(f"@ben {picture}")
        summary = await say("@ben [1]")
        assert "What: Street lighting" in summary and "Where: Via Roma 12 (45.07030, 7.68690)" in summary
        assert "Photos: 1" in summary
        assert "Report #1 filed: Street lighting" in await say("@ben [1]")

        # Five metres away, the same kind: cat follows #1 rather than filing it again.
        await say("@cat /report")
        await say("@cat street lighting")
        await say("@cat Dark corner")
        near = await say("@cat 45.07033, 7.68695")
        assert "#1: The streetlight in front of number 12 is off. (5 m away, submitted)" in near
        assert "you now follow report #1" in await say("@cat [1]")
        # Further away, or another kind: a new report.
        await say("@dan /report")
        await say("@dan [3]")
        await say("@dan Bins overflowing")
        assert "Send a photo if you can" in await say("@dan 45.07033, 7.68695"), "another kind: no question"
        await say("@dan [1]")
        assert "Report #2 filed" in await say("@dan [1]")

        assert "Only organisers can use /status" in await say("@ben /status 1 fixed")
        moved = await say("@ann /status 1 in progress | A technician is on the way")
        assert "bot: Report #1 is now: in progress." in moved
        assert "bot → ben: Report #1 (Street lighting) is now: in progress.\n     Note: A technician" in moved
        assert "bot → cat: Report #1" in moved and "bot → dan" not in moved
        assert "Write one of:" in await say("@ann /status 1 repaired-ish")
        assert "not marked fixed" in await say("@cat /stillbroken 1")
        assert "Still broken? Send /stillbroken 1." in await say("@ann /status 1 fixed")
        reopened = await say("@cat /stillbroken 1 still dark tonight")
        assert "report #1 is reopened" in reopened
        assert ("bot → ben: Report #1 (Street lighting) is now: reopened: still broken.\n     Note: still dark"
                in reopened)
        assert "#1 Street lighting — reopened: still broken" in await say("@ben /myreports")

        async with app.sessions() as session:
            report = await session.scalar(select(Report).where(Report.number == 1))
            assert report is not None
            photo = await session.scalar(select(ReportPhoto).where(ReportPhoto.report_id == report.id))
            history = (await session.scalars(select(StatusChange.status).where(StatusChange.report_id == report.id)
                                             .order_by(StatusChange.id))).all()
            kinds = [(o.kind, o.payload["result"]["status"]) for o in (await session.scalars(
                select(Outcome).where(Outcome.kind.startswith("report_")).order_by(Outcome.id))).all()]
        assert history == ["submitted", "in_progress", "fixed", "reopened"]
        assert kinds == [("report_submitted", "submitted"), ("report_submitted", "submitted"),
                         ("report_status", "in_progress"), ("report_status", "fixed"), ("report_status", "reopened")]
        assert photo is not None and b"PhoneModel X" not in photo.content
        assert re.fullmatch(r"[A-Za-z0-9_-]{32}", photo.token), "an unguessable link"
        url = f"http://127.0.0.1:{app.http_server.port}/reports/photos/{photo.token}.jpg"
        async with aiohttp.ClientSession() as client:
            async with client.get(url) as response:
                assert response.status == 200 and response.content_type == "image/jpeg"
                served = Image.open(io.BytesIO(await response.read()))
                assert max(served.size) == 2048 and not dict(served.getexif())
            async with client.get(url.replace(photo.token, altered(photo.token))) as response:
                assert response.status == 404

        await say("@ben /forgetme confirm")
        async with app.sessions() as session:
            kept = await session.scalar(select(Report).where(Report.number == 1))
            following = (await session.scalars(select(Follower.report_id))).all()
        assert kept is not None and kept.user_id is None, "the report stays, without its reporter"
        assert len(following) == 2, "cat still follows #1, dan #2; ben no longer"


async def test_open311_georeport_v2_served(database_url: str, make_settings: Callable[..., Settings],
                                           tmp_path: Path) -> None:
    """A municipal system reads the initiative's services and requests with the specification's field names,
    and files one with an api_key (403 without); a photo's media_url opens it."""
    async with running_console(make_settings(database_url), http=True) as chat:
        app, say = chat.app, chat.say
        picture = tmp_path / "bin.jpg"
        await asyncio.to_thread(_photo, picture)
        for line in ("@ann /start", "@ben /report", "@ben [3]", "@ben The bins are overflowing",
                     "@ben Piazza Vittorio (45.07030, 7.68690)", f"@ben {picture}", "@ben [1]", "@ben [1]",
                     "@ann /status 1 fixed | Emptied this morning"):
            await say(line)
        async with app.sessions() as session:
            initiative = await session.scalar(select(Report.initiative_id))
        command, _export = Reports.cli
        printed = await command.run(app.sessions, argparse.Namespace(initiative=str(initiative)))
        key = printed.splitlines()[-1]
        base = f"http://127.0.0.1:{app.http_server.port}/open311/v2"
        async with aiohttp.ClientSession() as client:
            async with client.get(f"{base}/services.json", params={"jurisdiction_id": str(initiative)}) as response:
                services = await response.json()
            assert {"service_code": "waste", "service_name": "Litter and waste", "description": "", "metadata": False,
                    "type": "realtime", "keywords": "", "group": ""} in services
            async with client.get(f"{base}/services.json") as response:
                assert response.status == 400 and (await response.json())[0]["code"] == 400
            async with client.get(f"{base}/services.xml", params={"jurisdiction_id": str(initiative)}) as response:
                root = ElementTree.fromstring(await response.read())
            assert root.tag == "services" and [e.findtext("service_code") for e in root] == list(SERVICES)
            async with client.get(f"{base}/requests.xml", params={"jurisdiction_id": str(initiative)}) as response:
                (request,) = ElementTree.fromstring(await response.read())
            assert (request.tag, request.findtext("status"), request.findtext("lat")) == ("request", "closed",
                                                                                          "45.0703")
            async with client.get(f"{base}/services.xml") as response:
                error = ElementTree.fromstring(await response.read())
            assert response.status == 400 and error.tag == "errors" and error.findtext("error/code") == "400"
            async with client.get(f"{base}/requests.json", params={"jurisdiction_id": str(initiative)}) as response:
                (made,) = await response.json()
            assert made["status"] == "closed" and made["status_notes"] == "fixed: Emptied this morning"
            assert (made["service_code"], made["lat"], made["long"], made["address"]) == (
                "waste", 45.0703, 7.6869, "Piazza Vittorio")
            assert set(made) >= {"service_request_id", "requested_datetime", "updated_datetime", "media_url",
                                 "agency_responsible", "service_notice", "expected_datetime", "zipcode"}
            async with client.get(made["media_url"].replace(app.settings.public_url,
                                                            f"http://127.0.0.1:{app.http_server.port}")) as response:
                assert response.status == 200 and response.content_type == "image/jpeg"

            form = {"jurisdiction_id": str(initiative), "service_code": "pothole", "lat": "45.0712",
                    "long": "7.6844", "description": "A deep hole by the tram stop"}
            async with client.post(f"{base}/requests.json", data=form) as response:
                assert response.status == 403, "no api_key, no filing"
            async with client.post(f"{base}/requests.json", data={**form, "api_key": altered(key)}) as response:
                assert response.status == 403
            async with client.post(f"{base}/requests.json", data={**form, "api_key": key}) as response:
                assert response.status == 201
                (filed,) = await response.json()
            async with client.post(f"{base}/requests.json",
                                   data={**form, "api_key": key, "service_code": "nonsense"}) as response:
                assert response.status == 400
            async with client.get(f"{base}/requests/{filed['service_request_id']}.json",
                                  params={"jurisdiction_id": str(initiative)}) as response:
                (one,) = await response.json()
            assert (one["status"], one["service_code"], one["description"]) == ("open", "pothole",
                                                                                "A deep hole by the tram stop")
            async with client.get(f"{base}/requests.json", params={"jurisdiction_id": str(initiative),
                                                                   "status": "open"}) as response:
                assert [r["service_request_id"] for r in await response.json()] == [filed["service_request_id"]]
            async with client.get(f"{base}/requests.json", params={
                    "jurisdiction_id": str(initiative), "start_date": "2026-01-01T00:00:00Z",
                    "end_date": "2026-06-01T00:00:00Z"}) as response:
                assert response.status == 400, "at most 90 days"
            async with client.get(f"{base}/tokens/{filed['token']}.json",
                                  params={"jurisdiction_id": str(initiative)}) as response:
                assert (await response.json())[0]["service_request_id"] == filed["service_request_id"]
        assert "#2 Road or pavement damage — submitted" in await say("@ann /reports"), "filed by the PA, seen here"


async def test_the_months_figures_for_the_pa(console_chat: ConsoleChat) -> None:
    """On the first of the month the PA gets last month's reports by category and status, and the median
    time to acknowledge and to fix."""
    say = console_chat.say
    await say("@ann /start")
    for who, kind, place in (("ben", "[1]", "45.07030, 7.68690"), ("cat", "[3]", "45.08030, 7.69690")):
        for line in (f"@{who} /report", f"@{who} {kind}", f"@{who} Broken, please come", f"@{who} {place}",
                     f"@{who} [1]", f"@{who} [1]"):
            await say(line)
    await say("@ann /status 1 acknowledged")
    await say("@ann /status 1 fixed")
    start = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0) - timedelta(days=20)
    async with console_chat.app.services.sessions.begin() as session:  # as if all this had been last month
        await session.execute(update(Report).values(created_at=start))
        for status, hours in (("acknowledged", 6), ("fixed", 30)):
            await session.execute(update(StatusChange).where(StatusChange.status == status).values(
                at=start + timedelta(hours=hours)))
    await console_chat.fire("reports:month:")
    async with console_chat.app.services.sessions() as session:
        month = await session.scalar(select(Outcome).where(Outcome.kind == "reports_month"))
    assert month is not None
    result = month.payload["result"]
    assert (result["reports"], result["fixed"], result["by_category"], result["by_status"]) == (
        2, 1, {"streetlight": 1, "waste": 1}, {"fixed": 1, "submitted": 1})
    assert (result["median_hours_to_acknowledge"], result["median_hours_to_fix"]) == (6.0, 30.0)
