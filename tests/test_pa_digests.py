"""Digests, as officers and organisers get them: subscribed from the private chat, in the reader's language
and time zone, by chat message and by e-mail to a real SMTP server on 127.0.0.1; sent once across restarts;
an empty period sends nothing, or one line when asked. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import socket
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select, update

from bot.config import Settings
from bot.digests import next_due
from bot.officers import identity_code
from interlinkers.scheduling._models import Event
from interlinkers.volunteers._models import Shift
from storage.models import Delivery, DigestSubscription
from tests.conftest import running_console
from tests.pa_world import World, build


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))  # type: ignore[arg-type]
        return "250 OK"

    def texts(self) -> list[str]:
        return [str(message.get_body(("plain",)).get_content()) for message in self.messages]  # type: ignore[union-attr]


@pytest.fixture
async def mailbox() -> AsyncIterator[tuple[Mailbox, int]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


async def _due_now(world: World) -> int:
    """Make every digest due, send what is due, and wait for the e-mail deliveries to be tried."""
    app = world.chat.app
    async with app.services.sessions.begin() as session:
        await session.execute(update(DigestSubscription).values(next_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert app.digests is not None
    staged = await app.digests.send_due()
    for _ in range(100):  # the background delivery worker may hold one: wait until every e-mail is out
        await app.services.deliveries.deliver_due()
        async with app.services.sessions() as session:
            if not await session.scalar(select(func.count()).select_from(Delivery).where(
                    Delivery.delivered_at.is_(None))):
                return staged
        await asyncio.sleep(0.1)
    raise AssertionError("an e-mail was never delivered")


async def test_digests_by_chat_and_email_in_each_readers_language_once(
        database_url: str, make_settings: Callable[..., Settings], mailbox: tuple[Mailbox, int]) -> None:
    box, port = mailbox
    settings = make_settings(database_url, smtp_host="127.0.0.1", smtp_port=str(port), smtp_security="none",
                             smtp_from="digest@interlink.example")
    async with running_console(settings, http=True) as chat:
        world = await build(chat)
        giulia = await world.officer("Giulia Rossi", "it", "giulia@comune.example")
        tom = await world.officer("Tom Reed", "en", "tom@borough.example", timezone="Europe/London")

        # Giulia (who speaks Italian with the bot) links her chat account with the code the dashboard shows
        # her, then subscribes there.
        await world.private("giulia", "language", "it")
        async with chat.app.services.sessions.begin() as session:
            code = await identity_code(session, giulia)
        assert "Giulia Rossi" in await world.private("giulia", "dashboard", code)
        assert "/dashboard/login?t=" in await world.private("giulia", "dashboard")
        answer = await world.private("giulia", "digest", "daily 07:30")
        assert "07:30" in answer
        # Tom has no chat account: his digest comes by e-mail only (set up as on the dashboard).
        async with chat.app.services.sessions.begin() as session:
            now = datetime.now(UTC)
            session.add(DigestSubscription(officer_id=tom, frequency="weekly", weekday=0, hour=8, minute=0,
                                           when_empty="skip", by_email=True, since=now - timedelta(days=1),
                                           next_at=next_due("weekly", 0, 8, 0, ZoneInfo("Europe/London"), now)))
        # A member who organises nothing cannot subscribe; the organiser can.
        assert "organise no initiative" in await world.private("eve", "digest", "daily 08:00")
        assert "08:00" in await world.private("ann", "digest", "weekly monday")

        async with chat.app.services.sessions.begin() as session:
            await session.execute(update(DigestSubscription).values(since=datetime.now(UTC) - timedelta(days=1)))
        printed = await world.chat._printed(_due_now(world))
        await asyncio.sleep(0)
        assert len(box.messages) == 2, [m["To"] for m in box.messages]
        by_reader = {str(m["To"]): m for m in box.messages}
        english = str(by_reader["tom@borough.example"].get_body(("plain",)).get_content())  # type: ignore[union-attr]
        italian = str(by_reader["giulia@comune.example"].get_body(("plain",)).get_content())  # type: ignore[union-attr]
        assert english.startswith("Digest of ") and "▸ Via Roma garden" in english
        assert "Poll #1: Which day for the clean-up? — closed" in english and "“Saturday” won" in english
        assert "Poll #2: Paint the benches green? — open: 1 of 5 members voted (20%)" in english
        assert "1 new report: Litter and waste (1)." in english
        assert "Shift #1 Watering" in english and "2 of 3 places free" in english
        assert "Event #1 Garden clean-up" in english
        assert "4 new outcomes recorded for the public administration." in english
        assert f"/dashboard/initiatives/{world.initiative_id}" in english
        # The ledger's last checkpoint (the poll's close signed it), kept in the mailbox: the line to check with.
        sealed = re.search(rf"Ledger: 1 entry, signed .+ with key ([0-9a-f]{{16}})\. To check it later: "
                           rf"interlink verify --expect {world.initiative_id}/1:([0-9a-f]{{64}})", english)
        assert sealed is not None and sealed[1] == chat.app.services.ledger_key.key_id, english
        assert f"interlink verify --expect {world.initiative_id}/1:{sealed[2]}" in italian
        assert str(by_reader["tom@borough.example"]["Subject"]).startswith("Digest of ")
        assert "Sondaggio #2: Paint the benches green? — votazione in corso: 1 su 5 membri" in italian
        assert "1 nuova segnalazione: Rifiuti e sporcizia (1)." in italian
        assert str(by_reader["giulia@comune.example"]["Subject"]).startswith("Riepilogo del giorno ")
        # In the chat too: Giulia in Italian, ann (an organiser, no dashboard link) in English.
        assert "bot → giulia: Riepilogo del giorno " in printed and "bot → ann: Digest of " in printed
        assert printed.count("/dashboard/initiatives/") == 1, "only officers get the dashboard link"

        # The next period tells what is new: poll #2 closed since.
        await world.chat.say("@ann /close 2")
        await _due_now(world)
        assert len(box.messages) == 4
        assert "Poll #2: Paint the benches green? — closed" in box.texts()[-1] + box.texts()[-2]
        # A period with nothing new and nothing coming up in the week sends nothing.
        async with chat.app.services.sessions.begin() as session:
            later = datetime.now(UTC) + timedelta(days=60)
            await session.execute(update(Event).values(starts_at=later))
            await session.execute(update(Shift).values(starts_at=later, ends_at=later + timedelta(hours=1)))
        printed = await world.chat._printed(_due_now(world))
        assert len(box.messages) == 4 and "bot →" not in printed, "an empty period sends nothing"
        assert "una riga" in await world.private("giulia", "digest", "empty line")
    # A restart sends nothing again, and the one-line preference holds.
    async with running_console(settings, http=True) as chat:
        world = World(chat, world.initiative_id)
        assert chat.app.digests is not None
        assert await chat.app.digests.send_due() == 0
        printed = await chat._printed(_due_now(world))
        assert "bot → giulia: Niente di nuovo" in printed and "bot → ann" not in printed
        assert len(box.messages) == 5 and "Niente di nuovo" in box.texts()[-1]
        assert str(box.messages[-1]["To"]) == "giulia@comune.example"
