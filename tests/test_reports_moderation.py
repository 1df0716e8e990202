"""One initiative across two networks, and a moderators' chat for its reports.

The neighbours' group is on the console; the municipality's staff room is on a second network (our own
recording adapter, whose organiser is the room's admin). An organiser links the staff room with a one-time
code sent to her privately; the staff room asks for new reports with ``/moderate``; each new report is
posted there with Acknowledge and Reject buttons, and the reporter hears the decision (a rejection with its
reason). On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from sqlalchemy import select

from adapters.console import ConsoleAdapter
from bot.app import App
from bot.config import Settings
from bot.events import ButtonPress, ChatRef, Command, Edit, Notice, Reply, Text, Update, UserRef
from storage.models import ChatLink
from tests.conftest import ConsoleChat
from tests.test_core import RecordingAdapter

STAFF = ChatRef("test", "staff-room", title="Municipality staff")
MOD, EVE = UserRef("test", "mod", "Mod"), UserRef("test", "eve", "Eve")


@asynccontextmanager
async def two_networks(settings: Settings) -> AsyncIterator[tuple[ConsoleChat, RecordingAdapter]]:
    out = io.StringIO()
    console = ConsoleAdapter(stdin=io.StringIO(""), stdout=out)
    staff = RecordingAdapter(organisers={"mod"})
    app = App(settings, adapters=[console, staff], http=False)
    await app.start()
    try:
        yield ConsoleChat(app, console, out), staff
    finally:
        await app.stop()


class Staff:
    def __init__(self, app: App, adapter: RecordingAdapter) -> None:
        self.app, self.adapter, self.n = app, adapter, 0

    async def send(self, who: UserRef, event: object) -> list[str]:
        """What the bot showed in the staff room in answer."""
        before = len(self.adapter.sent)
        self.n += 1
        await self.app.handle(Update(f"s{self.n}", STAFF, who, event))  # type: ignore[arg-type]
        return [m.text for c, m in self.adapter.sent[before:] if c == STAFF and isinstance(m, Reply | Edit | Notice)]

    async def card(self, number: int) -> Reply:
        """Report ``number``'s card, once the job that posts it has run (it runs once)."""
        for _ in range(100):
            cards = [m for c, m in self.adapter.sent if c == STAFF and isinstance(m, Reply)
                     and m.text.startswith(f"New report #{number}:")]
            if cards:
                break
            await asyncio.sleep(0.05)
        await self.app.services.jobs.run_due()
        assert len(cards) == 1, f"report #{number} posted {len(cards)} times"
        return cards[0]

    def last_edit(self) -> str:
        return [m.text for c, m in self.adapter.sent if c == STAFF and isinstance(m, Edit)][-1]


async def _report(chat: ConsoleChat, who: str, where: str) -> None:
    for line in (f"@{who} /report", f"@{who} [1]", f"@{who} The light at the corner is off", f"@{who} {where}",
                 f"@{who} [1]", f"@{who} [1]"):
        await chat.say(line)


async def test_a_staff_room_on_another_network_moderates_the_groups_reports(
        database_url: str, make_settings: Callable[..., Settings]) -> None:
    async with two_networks(make_settings(database_url)) as (chat, adapter):
        app, staff = chat.app, Staff(chat.app, adapter)
        await chat.say("@ann /start")
        assert "Only organisers can use /link" in await chat.say("@ben /link")
        asked = await chat.say("@ann /link")
        assert "bot: I have sent you a one-time code privately." in asked
        code = re.search(r"bot → ann: .*\n\s*/link ([A-Z0-9]{4}-[A-Z0-9]{4})", asked)
        assert code is not None, asked
        assert "bot → ben" not in asked, "the code reaches the organiser alone"

        await staff.send(MOD, Command("start", ""))
        assert any("Only organisers" in text for text in await staff.send(EVE, Command("link", code[1])))
        assert any("not valid" in text for text in await staff.send(MOD, Command("link", "ABCD-EFGH")))
        linked = await staff.send(MOD, Command("link", code[1].lower().replace("-", " ")))
        assert any("This chat is now part of" in text for text in linked), linked
        assert any("not valid" in text for text in await staff.send(MOD, Command("link", code[1]))), "used once"
        async with app.sessions() as session:
            initiatives = set((await session.scalars(select(ChatLink.initiative_id).where(
                ChatLink.platform.in_(["console", "test"])))).all())
        assert len(initiatives) == 1, "the console group and the staff room are one initiative"

        assert any("Every new report will be posted here" in t for t in await staff.send(MOD, Command("moderate", "")))
        await _report(chat, "ben", "Via Roma 12 (45.07030, 7.68690)")
        card = await staff.card(1)
        assert "The light at the corner is off" in card.text and "openstreetmap.org/?mlat=45.07030" in card.text
        acknowledge, reject = card.buttons
        denied = await staff.send(EVE, ButtonPress(acknowledge.payload))
        assert denied == ["Only an organiser can do that."]
        await staff.send(MOD, ButtonPress(acknowledge.payload))
        assert "Acknowledged by Mod." in staff.last_edit()
        await chat.printed_eventually("bot → ben: Report #1 (Street lighting) is now: acknowledged.")
        again = await staff.send(MOD, ButtonPress(reject.payload))
        assert any("already acknowledged" in t for t in again), "a second moderator cannot undo the first"

        await _report(chat, "cat", "Parco Ruffini (45.06000, 7.64000)")
        second = await staff.card(2)
        asked_why = await staff.send(MOD, ButtonPress(second.buttons[1].payload))
        assert any("Why is report #2 rejected?" in t for t in asked_why)
        assert any("a few words" in t for t in await staff.send(MOD, Text("no")))
        done = await staff.send(MOD, Text("Private land: the owner is responsible"))
        assert any("Report #2 is rejected" in t for t in done)
        assert "Rejected by Mod: Private land: the owner is responsible" in staff.last_edit()
        await chat.printed_eventually("bot → cat: Report #2 (Street lighting) is now: closed.\n"
                                      "     Note: Private land: the owner is responsible")
        assert "#1 Street lighting — acknowledged" in await chat.say("@ann /reports")

        assert any("no longer posted" in t for t in await staff.send(MOD, Command("moderate", "off")))
        await _report(chat, "dan", "Via Po 3 (45.07000, 7.69000)")
        assert not [m for c, m in adapter.sent if c == STAFF and isinstance(m, Reply)
                    and m.text.startswith("New report #3")]
