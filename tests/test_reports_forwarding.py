"""A report travels on to the municipality's own Open311 endpoint and its answers come back to the chat.

The municipality here is a real HTTP server on 127.0.0.1 speaking GeoReport v2. It is down when the report
is made (nothing is lost), then files the report but answers 500 (the next try finds that request instead of
filing it twice), then closes and reopens it (each follower hears once, in their language, however often it
is polled). The PA's own back-office sets statuses with ``curl``-like calls to our API. On SQLite and
PostgreSQL."""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select, update

from bot.app import App
from bot.config import ConfigError, Settings
from interlinkers.reports import Reports
from interlinkers.reports._export import COLUMNS
from interlinkers.reports._forward import poll_endpoint
from interlinkers.reports._models import Report
from storage.models import DeadLetter, Delivery
from tests.conftest import ConsoleChat, altered, running_console
from tests.net import free_port
from tests.test_reports import _photo

API_KEY = "city-key-0123456789"


@dataclass
class Municipality:
    """A municipal back-office's Open311 endpoint: files requests, answers GETs, changes statuses."""

    port: int = field(default_factory=free_port)
    requests: dict[str, dict[str, Any]] = field(default_factory=dict)
    posts: int = 0
    fail_after_filing: int = 0  # how many of the next filings answer 500 although they filed
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v2"

    async def start(self) -> None:
        app = web.Application()
        app.add_routes([web.post("/v2/requests.json", self._file), web.get("/v2/requests.json", self._list)])
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _file(self, request: web.Request) -> web.Response:
        form = await request.post()
        self.posts += 1
        if form.get("api_key") != API_KEY or form.get("jurisdiction_id") != "torino":
            return web.json_response([{"code": 403, "description": "bad api_key"}], status=403)
        if form.get("service_code") not in ("LIGHT01", "ROAD02"):
            return web.json_response([{"code": 400, "description": "unknown service_code"}], status=400)
        number = str(7000 + len(self.requests))
        self.requests[number] = {
            "service_request_id": number, "status": "open", "status_notes": "",
            "service_code": form["service_code"], "description": form.get("description"),
            "lat": float(str(form["lat"])), "long": float(str(form["long"])), "media_url": form.get("media_url"),
            "requested_datetime": datetime.now(UTC).isoformat(timespec="seconds")}
        if self.fail_after_filing:
            self.fail_after_filing -= 1
            return web.Response(status=500, text="proxy error")
        return web.json_response([{"service_request_id": number}], status=201)

    async def _list(self, request: web.Request) -> web.Response:
        found = list(self.requests.values())
        if ids := request.query.get("service_request_id"):
            found = [r for r in found if r["service_request_id"] in ids.split(",")]
        elif code := request.query.get("service_code"):
            found = [r for r in found if r["service_code"] == code]
        return web.json_response(found)


async def _due_now(app: App) -> None:
    async with app.sessions.begin() as session:
        await session.execute(update(Delivery).where(Delivery.delivered_at.is_(None))
                              .values(next_attempt_at=datetime.now(UTC)))


async def _delivery(app: App, attempts: int) -> Delivery:
    """The report's delivery once it has been tried ``attempts`` times (by the worker, woken)."""
    for _ in range(200):
        app.services.deliveries.wake()
        async with app.sessions() as session:
            row = await session.scalar(select(Delivery))
        if row is not None and row.attempts >= attempts and row.claimed_until is None:
            return row
        await asyncio.sleep(0.05)
    raise AssertionError(f"the delivery was not tried {attempts} times: {row and row.last_error}")


async def _report(chat: ConsoleChat, who: str, kind: str, where: str, photo: Path | None = None, *,
                  duplicate: bool = False) -> str:
    """Make a report step by step; with ``duplicate``, follow the nearby one offered instead."""
    await chat.say(f"@{who} /report")
    await chat.say(f"@{who} {kind}")
    await chat.say(f"@{who} The light at the corner is off")
    await chat.say(f"@{who} {where}")
    if duplicate:
        return await chat.say(f"@{who} [1]")
    if photo is not None:
        await chat.say(f"@{who} {photo}")
    await chat.say(f"@{who} [1]")
    return await chat.say(f"@{who} [1]")


@pytest.fixture
async def municipality() -> Any:
    city = Municipality()
    yield city
    await city.stop()


async def test_forwarded_through_an_outage_once_and_its_statuses_come_back(
        database_url: str, make_settings: Callable[..., Settings], tmp_path: Path, municipality: Municipality) -> None:
    settings = make_settings(database_url, open311_forward_url=municipality.url, open311_forward_api_key=API_KEY,
                             open311_forward_jurisdiction_id="torino", open311_forward_services="streetlight=LIGHT01",
                             open311_forward_poll_seconds="3600")
    picture = tmp_path / "light.jpg"
    await asyncio.to_thread(_photo, picture)
    async with running_console(settings, http=True) as chat:
        app = chat.app
        await chat.say("@ann /start")
        assert "Report #1 filed" in await _report(chat, "ben", "[1]", "Via Roma 12 (45.07030, 7.68690)",
                                                  picture)
        down = await _delivery(app, 1)
        assert down.delivered_at is None and not down.uncertain, "refused connection: surely not filed"

        await municipality.start()
        municipality.fail_after_filing = 1
        await _due_now(app)
        uncertain = await _delivery(app, 2)
        assert uncertain.delivered_at is None and uncertain.uncertain and municipality.posts == 1
        await _due_now(app)
        done = await _delivery(app, 3)
        assert done.delivered_at is not None and done.result == {"service_request_id": "7000", "token": None,
                                                                  "adopted": True}
        assert (municipality.posts, list(municipality.requests)) == (1, ["7000"]), "filed once, adopted after"
        filed = municipality.requests["7000"]
        assert (filed["service_code"], filed["lat"], filed["long"]) == ("LIGHT01", 45.0703, 7.6869)
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/reports/photos/[A-Za-z0-9_-]{32}\.jpg", filed["media_url"])
        async with app.sessions() as session:
            assert await session.scalar(select(Report.remote_id)) == "7000"

        await chat.say("@cat /language it")
        assert "segui" in (await _report(chat, "cat", "[1]", "45.07033, 7.68695", duplicate=True)).lower()

        municipality.requests["7000"].update(status="closed", status_notes="Lamp replaced")
        assert await poll_endpoint(app.sessions, reports(app).endpoint) == 1  # type: ignore[arg-type]
        assert await poll_endpoint(app.sessions, reports(app).endpoint) == 0  # type: ignore[arg-type]
        printed = await chat.printed_eventually("bot → ben: Report #1 (Street lighting) is now: closed.",
                                                "bot → cat: Nuovo stato della segnalazione #1")
        assert "Note: Lamp replaced" in printed
        municipality.requests["7000"].update(status="open", status_notes="Lamp replaced")
        await poll_endpoint(app.sessions, reports(app).endpoint)  # type: ignore[arg-type]
        printed = await chat.printed_eventually("bot → ben: Report #1 (Street lighting) is now: reopened")
        await asyncio.sleep(0.3)
        printed = await chat.printed_eventually()
        assert printed.count("bot → ben: Report #1 (Street lighting) is now: closed.") == 1
        assert printed.count("bot → cat: Nuovo stato della segnalazione #1") == 2

        # A kind the municipality does not take: refused for good, kept for an operator, not retried.
        await _report(chat, "dan", "[4]", "45.08000, 7.69000")
        for _ in range(100):
            async with app.sessions() as session:
                letter = await session.scalar(select(DeadLetter).where(DeadLetter.kind == "delivery"))
            if letter is not None:
                break
            app.services.deliveries.wake()
            await asyncio.sleep(0.05)
        assert letter is not None and "unknown service_code" in letter.error and municipality.posts == 2


def reports(app: App) -> Reports:
    found = app.services.interlinkers["reports"]
    assert isinstance(found, Reports)
    return found


async def test_the_pa_sets_statuses_over_http_and_each_follower_hears_in_their_language(
        database_url: str, make_settings: Callable[..., Settings]) -> None:
    async with running_console(make_settings(database_url), http=True) as chat:
        app = chat.app
        await chat.say("@ann /start")
        await _report(chat, "ben", "[1]", "Via Roma 12 (45.07030, 7.68690)")
        await chat.say("@cat /language it")
        await _report(chat, "cat", "[1]", "45.07033, 7.68695", duplicate=True)
        async with app.sessions() as session:
            report_id, initiative = (await session.execute(select(Report.id, Report.initiative_id))).one()
        command, export = Reports.cli
        key = (await command.run(app.sessions, argparse.Namespace(initiative=str(initiative)))).splitlines()[-1]
        url = f"http://127.0.0.1:{app.http_server.port}/open311/v2/requests/{report_id}.json"
        form = {"jurisdiction_id": str(initiative), "api_key": key, "status": "in_progress",
                "status_notes": "A technician is on the way"}
        async with aiohttp.ClientSession() as client:
            async with client.post(url, data={**form, "api_key": altered(key)}) as response:
                assert response.status == 403
            async with client.post(url, data={**form, "status": "repaired-ish"}) as response:
                assert response.status == 400 and "in_progress" in (await response.json())[0]["description"]
            async with client.post(url, data=form) as response:
                (shown,) = await response.json()
            assert (shown["status"], shown["status_notes"]) == ("open", "in progress: A technician is on the way")
            await chat.printed_eventually(
                "bot → ben: Report #1 (Street lighting) is now: in progress.\n     Note: A technician is on the way",
                "bot → cat: Nuovo stato della segnalazione #1 (Illuminazione pubblica): in lavorazione.")
            async with client.post(url, data={**form, "status": "fixed", "status_notes": ""}) as response:
                assert (await response.json())[0]["status"] == "closed"
            printed = await chat.printed_eventually("bot → ben: Report #1 (Street lighting) is now: fixed.",
                                                    "Illuminazione pubblica): risolta.")
        assert "Still broken? Send /stillbroken 1." in printed
        assert "#1 Street lighting — fixed" in await chat.say("@ben /myreports")
        rows = list(csv.DictReader(io.StringIO(await export.run(app.sessions, argparse.Namespace(
            initiative=str(initiative))))))
        assert len(rows) == 1 and set(rows[0]) == set(COLUMNS) and "ben" not in str(rows), "nobody named"
        row = rows[0]
        assert (row["status"], row["lat"], row["photos"]) == ("fixed", "45.0703", "0")
        assert row["submitted_utc"] <= row["in_progress_utc"] <= row["fixed_utc"] and row["acknowledged_utc"] == ""
        assert row["hours_to_acknowledge"] == row["hours_to_fix"] == "0.0"


def test_forwarding_settings_are_checked_with_one_line_naming_the_key(make_settings: Callable[..., Settings]) -> None:
    with pytest.raises(ConfigError, match="INTERLINK_OPEN311_FORWARD_API_KEY must be set"):
        Reports.check_config(make_settings(open311_forward_url="https://city.example/open311/v2"))
    with pytest.raises(ConfigError, match="INTERLINK_OPEN311_FORWARD_SERVICES takes our=theirs pairs"):
        Reports.check_config(make_settings(open311_forward_url="https://city.example/v2", open311_forward_api_key="k",
                                           open311_forward_services="lamps=L1"))
    with pytest.raises(ConfigError, match="INTERLINK_OPEN311_FORWARD_URL is not"):
        Reports.check_config(make_settings(open311_forward_api_key="k"))
    with pytest.raises(ConfigError, match="must start with http"):
        Reports.check_config(make_settings(open311_forward_url="city.example", open311_forward_api_key="k"))
