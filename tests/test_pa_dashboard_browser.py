"""The dashboard as a PA officer uses it, in a real headless Chromium (Debian's, driven by Playwright): log
in by link, the overview and the initiative page with their charts and tables, filters, downloads, the four
languages without a console error, API keys, the digest form, and logging out. Screenshots of the overview
and the initiative page are kept in ``test-artifacts/dashboard/``."""

from __future__ import annotations

import asyncio
import io
import os
import re
import shutil
import zipfile
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Browser, Page, async_playwright

from bot.config import Settings
from tests.conftest import running_console
from tests.pa_world import NAME, build

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HAVE_CHROMIUM = os.path.exists(CHROMIUM)
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "dashboard"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
# Each language's word for the participation panel and the log-out button: the page speaks it.
WORDS = {"en": ("Participation", "Log out"), "it": ("Partecipazione", "Esci"), "es": ("Participación", "Cerrar sesión"),
         "lv": ("Līdzdalība", "Iziet")}

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not HAVE_CHROMIUM:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: .ci/run installs Debian's chromium package")
        pytest.skip("the dashboard's browser tests need Debian's chromium (apt-get install chromium)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield launched
        finally:
            await launched.close()


def _watch(page: Page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type in ("error", "warning")
            else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("response", lambda response: problems.append(f"{response.status} {response.url}")
            if response.status >= 400 else None)
    return problems


async def test_an_officer_logs_in_reads_filters_downloads_and_switches_language(
        database_url: str, make_settings: Callable[..., Settings], browser: Browser) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with running_console(make_settings(database_url), http=True) as chat:
        world = await build(chat)
        officer = await world.officer("Giulia Rossi", "en")
        base = f"http://127.0.0.1:{chat.app.http_server.port}"
        context = await browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        page = await context.new_page()
        problems = _watch(page)

        # Log in: the link shows a button (a chat preview opening it does not use it up), then the overview.
        link = world.login_link(officer)
        await page.goto(link)
        await page.get_by_text("You are logging in as Giulia Rossi").wait_for()
        await page.get_by_role("button", name="Log in").click()
        await page.wait_for_url(f"{base}/dashboard/")
        assert await page.locator("h1").inner_text() == "Your initiatives"
        row = page.get_by_role("row").filter(has_text=NAME)
        assert "Build" in await row.inner_text() and "Comune di Torino" in await row.inner_text()
        assert await page.locator("svg.chart").count() >= 2, "participation and teams, drawn"
        await page.screenshot(path=str(ARTIFACTS / "overview.png"), full_page=True)
        await page.keyboard.press("Tab")
        assert await page.evaluate("document.activeElement.textContent") == "Skip to the content"

        # The initiative's page: the core's panels, every Interlinker's, each chart with its table.
        await row.get_by_role("link").click()
        await page.wait_for_url(re.compile(rf"{base}/dashboard/initiatives/{world.initiative_id}"))
        assert await page.locator("h1").inner_text() == NAME
        titles = await page.locator("section.panel h2").all_inner_texts()
        for wanted in ("Participation", "Members by team type", "Decisions and results", "Downloads"):
            assert wanted in titles, titles
        assert len(titles) >= 8, "the Interlinkers' panels too (polls, events, shifts, reports)"
        for chart in await page.locator("section.panel:has(svg.chart)").all():
            assert await chart.locator("table").count() == 1, "every chart has its numbers as a table"
        teams = page.locator("section.panel").filter(has=page.get_by_role("heading", name="Members by team type"))
        assert re.search(r"public administration\s+1", await teams.locator("table").inner_text())
        decisions = page.locator("section.panel").filter(has=page.get_by_role("heading", name="Decisions and results"))
        assert "Which day for the clean-up?" in await decisions.inner_text()
        await page.screenshot(path=str(ARTIFACTS / "initiative.png"), full_page=True)

        # Filters: a period with nothing in it; then a status with no reports in it.
        later = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
        await page.fill("input[name=from]", later)
        await page.fill("input[name=to]", later)
        await page.get_by_role("button", name="Apply").click()
        await page.wait_for_url(re.compile(r"from=" + later))
        assert "Nothing was decided in this period." in await decisions.inner_text()
        await page.goto(f"{base}/dashboard/initiatives/{world.initiative_id}")
        filed = page.locator("section.panel").filter(
            has=page.get_by_role("heading", name="Reports filed in the period"))
        assert "Litter and waste" in await filed.locator("table").inner_text(), "dan's report is listed"
        await page.select_option("select[name=status]", "fixed")  # nobody's report is fixed yet
        await page.get_by_role("button", name="Apply").click()
        await page.wait_for_url(re.compile(r"status=fixed"))
        assert await filed.locator("table").count() == 0
        assert "No reports were filed in this period." in await filed.inner_text()

        # Downloads: the open-data ZIP, with its README and pseudonyms only.
        async with page.expect_download() as waiting:
            await page.get_by_role("link", name=re.compile("Everything, as open data")).click()
        download = await waiting.value
        archive = zipfile.ZipFile(io.BytesIO(await asyncio.to_thread(Path(await download.path()).read_bytes)))
        names = archive.namelist()
        assert "README.md" in names and "outcomes.csv" in names and "members.csv" in names
        members = archive.read("members.csv").decode()
        assert re.search(r"P-[a-z2-7]{8},public_administration,member", members)
        for name in names:
            content = archive.read(name)
            assert b"Giulia" not in content and b",ben," not in content and b"dan" not in content.lower().replace(
                b"dance", b""), f"{name} names someone"
        assert "outcomes.csv" in archive.read("README.md").decode()

        # Four languages, no console error on any page.
        for code, (participation, logout) in WORDS.items():
            for path in ("/dashboard/", f"/dashboard/initiatives/{world.initiative_id}", "/dashboard/keys",
                         "/dashboard/account", "/directory", "/api/v1/docs"):
                await page.goto(f"{base}{path}?lang={code}")
                if path.startswith("/dashboard"):
                    assert await page.locator("html").get_attribute("lang") == code
                    assert await page.get_by_role("button", name=logout).count() == 1, (code, path)
            await page.goto(f"{base}/dashboard/initiatives/{world.initiative_id}?lang={code}")
            assert participation in await page.locator("section.panel h2").all_inner_texts(), code
        assert problems == [], problems

        # An API key made on the dashboard works once shown, and stops when revoked.
        await page.goto(f"{base}/dashboard/keys")
        await page.fill("input[name=label]", "Open data portal")
        await page.get_by_role("button", name="Create a key").click()
        key = await page.locator("#new-key").inner_text()
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {key}"}) as client:
            async with client.get(f"{base}/api/v1/initiatives") as response:
                assert response.status == 200 and (await response.json())["items"][0]["name"] == NAME
            await page.get_by_role("button", name="Revoke").click()
            await page.get_by_text("revoked").wait_for()
            async with client.get(f"{base}/api/v1/initiatives") as response:
                assert response.status == 401

        # The digest, chosen on the dashboard; then log out, and the used link does not log in again.
        await page.goto(f"{base}/dashboard/account")
        await page.select_option("select[name=frequency]", "weekly")
        await page.select_option("select[name=weekday]", "friday")
        await page.fill("input[name=time]", "09:15")
        await page.locator("form").filter(has_text="How often").get_by_role("button", name="Save").click()
        await page.get_by_text("Next one:").wait_for()
        assert "09:15" in await page.get_by_text("Next one:").inner_text()
        await page.get_by_role("button", name="Log out").click()
        await page.wait_for_url(f"{base}/dashboard/login")
        await page.goto(f"{base}/dashboard/")
        await page.wait_for_url(f"{base}/dashboard/login")
        await page.goto(link)
        assert await page.get_by_role("button", name="Log in").count() == 1
        await page.get_by_role("button", name="Log in").click()
        await page.get_by_text("This log-in link is not valid any more").wait_for()
        await context.close()
