"""A small, real initiative for the PA side's tests: built by chat commands on the console, the way its
organisers would (profile, team types, polls decided and open, an event, a shift, reports), plus PA
officers made as an administrator would, and a way to write to the bot privately."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.events import ChatRef, Command, Update, UserRef
from bot.officers import add_officer, login_token, login_url
from storage.models import Initiative
from tests.conftest import ConsoleChat

_ids = itertools.count(1)
NAME = "Via Roma garden"


@dataclass
class World:
    chat: ConsoleChat
    initiative_id: int

    async def private(self, who: str, command: str, args: str = "") -> str:
        """``who`` writes ``/command args`` to the bot in a private chat; what the bot printed."""
        chat = ChatRef("console", f"@{who}", title=who, is_private=True)
        update = Update(f"private-{next(_ids)}", chat, UserRef("console", who, who), Command(command, args))
        return await self.chat._printed(self.chat.app.handle(update))

    async def officer(self, name: str, locale: str, email: str | None = None, timezone: str = "Europe/Rome") -> int:
        async with self.chat.app.services.sessions.begin() as session:
            officer = await add_officer(session, name, email, locale, timezone, [self.initiative_id])
            return officer.id

    def login_link(self, officer_id: int) -> str:
        settings = self.chat.app.settings
        base = f"http://127.0.0.1:{self.chat.app.http_server.port}"
        return login_url(base, login_token(settings.secret, officer_id))


async def build(chat: ConsoleChat) -> World:
    say = chat.say
    soon = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%d")
    await say("@ann /start")
    await say(f"@ann /initiative name {NAME}")
    await say("@ann /initiative description Neighbours and the borough looking after the Via Roma garden.")
    await say("@ann /initiative phase build")
    await say("@ann /initiative partner Comune di Torino")
    await say("@ann /initiative directory on")
    for who in ("ben", "cat", "dan", "eve"):
        await say(f"@{who} /start")
    await say("@ann /team ben pa")
    await say("@ann /team cat nonprofit")
    await say("@ann /poll Which day for the clean-up? | Saturday | Sunday")
    await say("@ben [1]")
    await say("@cat [2]")
    await say("@dan [1]")
    await say("@ann /close 1")
    await say("@ann /poll Paint the benches green? | Yes | No")
    await say("@eve [1]")
    await say(f"@ann /event Garden clean-up | {soon} 10:00 | 2h | Garden gate")
    await say(f"@ann /shift Watering | {soon} 18:00-19:00 | 3")
    await say("@ben /signup 1")
    await say("@dan /report")
    await say("@dan [3]")
    await say("@dan Bins overflowing by the gate")
    await say("@dan 45.07033, 7.68695")
    await say("@dan [1]")
    await say("@dan [1]")
    async with chat.app.services.sessions() as session:
        initiative_id = await session.scalar(select(Initiative.id).where(Initiative.name == NAME))
    assert initiative_id is not None
    return World(chat, initiative_id)
