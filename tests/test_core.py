"""Core behaviour on both databases: exactly-once updates, forged buttons, roles from the network,
dialogs that time out, and what the PA side receives."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, update

from bot.adapter import Adapter, Capabilities, CoreAPI
from bot.app import App
from bot.config import Settings
from bot.events import (
    ButtonPress,
    ChatRef,
    Command,
    Edit,
    NativePollAnswer,
    Notice,
    Outgoing,
    Reply,
    Text,
    Update,
    UserRef,
)
from bot.roles import Role
from interlinkers.polls._models import Ballot, Poll
from storage.models import Conversation, Job, OutboxItem, Outcome, PAOutcome
from storage.outbox import read_outcomes

CHAT = ChatRef("test", "room-1", title="Via Roma neighbours")


class RecordingAdapter(Adapter):
    """A real adapter of our own for a network that only records what it was asked to show."""

    platform = "test"
    capabilities = Capabilities(buttons=True, edits=True, native_polls=True)

    def __init__(self, organisers: set[str] | None = None) -> None:
        self.sent: list[tuple[ChatRef, Outgoing]] = []
        self.organisers = organisers or set()
        self._ids = 0

    async def start(self, core: CoreAPI) -> None:
        self.core = core

    async def stop(self) -> None:
        pass

    async def send(self, chat: ChatRef, message: Outgoing) -> str | None:
        self.sent.append((chat, message))
        self._ids += 1
        return f"m{self._ids}"

    async def platform_role(self, chat: ChatRef, user: UserRef) -> Role | None:
        return Role.ORGANISER if user.user_id in self.organisers else None

    def texts(self) -> list[str]:
        return [m.text for _c, m in self.sent if isinstance(m, Reply | Notice | Edit)]


def user(name: str, language: str | None = None) -> UserRef:
    return UserRef("test", name, name.title(), language)


class Harness:
    def __init__(self, app: App, adapter: RecordingAdapter) -> None:
        self.app, self.adapter, self.n = app, adapter, 0

    async def send(self, who: UserRef, event: object, update_id: str | None = None) -> None:
        self.n += 1
        await self.app.handle(Update(update_id or f"u{self.n}", CHAT, who, event))  # type: ignore[arg-type]

    async def count(self, model: type, *where: object) -> int:
        async with self.app.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def start(settings: Settings, adapter: RecordingAdapter) -> Harness:
    app = App(settings, adapters=[adapter], http=False)
    await app.start()
    return Harness(app, adapter)


async def test_redelivered_update_has_one_effect(database_url: str, make_settings: Callable[..., Settings]) -> None:
    adapter = RecordingAdapter()
    h = await start(make_settings(database_url), adapter)
    try:
        await h.send(user("ann"), Command("poll", "Bench colour? | Green | Blue"), update_id="100")
        await h.send(user("ann"), Command("poll", "Bench colour? | Green | Blue"), update_id="100")
        assert await h.count(Poll) == 1
        poll_messages = [m for _c, m in adapter.sent if isinstance(m, Reply) and m.key]
        assert len(poll_messages) == 1, "a redelivered update must not answer twice"
        vote = poll_messages[0].buttons[1].payload
        for _ in range(3):
            await h.send(user("ben"), ButtonPress(vote), update_id="101")
        assert await h.count(Ballot) == 1
    finally:
        await h.app.stop()


async def test_forged_and_stale_buttons_change_nothing(
    database_url: str, make_settings: Callable[..., Settings]
) -> None:
    adapter = RecordingAdapter()
    h = await start(make_settings(database_url), adapter)
    try:
        await h.send(user("ann"), Command("poll", "Bench colour? | Green | Blue"))
        payload = next(m for _c, m in adapter.sent if isinstance(m, Reply) and m.key).buttons[0].payload
        body, _sep, mac = payload.rpartition("~")
        forged = [
            body[:-1] + "2~" + mac,
            body.replace("polls.v.1", "polls.v.7") + "~" + mac,
            payload[:-1] + ("A" if payload[-1] != "A" else "B"),
            "1.polls.v.1.1",
            "x" * 200,
            "",
        ]
        for bad in forged:
            adapter.sent.clear()
            await h.send(user("ben"), ButtonPress(bad))
            assert adapter.texts() == ["This button is not valid any more. Send /help to start again."]
        assert await h.count(Ballot) == 0
        # A button of another Interlinker's kind, correctly signed, is refused the same way.
        other = h.app.services.signer.sign("polls", "nope", 1)
        adapter.sent.clear()
        await h.send(user("ben"), ButtonPress(other))
        assert adapter.texts() == ["This button is not valid any more. Send /help to start again."]
        # A genuine button of a closed poll is stale: clear message, nothing counted.
        await h.send(user("ann"), Command("close", "1"))
        adapter.sent.clear()
        await h.send(user("ben"), ButtonPress(payload))
        assert adapter.texts() == ["Poll #1 is closed; its result is final. Send /results 1 to see it."]
        assert await h.count(Ballot) == 0
    finally:
        await h.app.stop()


async def test_network_admins_are_organisers(database_url: str, make_settings: Callable[..., Settings]) -> None:
    adapter = RecordingAdapter(organisers={"dora"})
    h = await start(make_settings(database_url), adapter)
    try:
        await h.send(user("ann"), Command("start"))
        await h.send(user("ben"), Command("poll", "Fix the fountain? | Yes | No"))
        adapter.sent.clear()
        await h.send(user("cat"), Command("close", "1"))
        assert adapter.texts() == ["Only its creator or an organiser can do that."]
        await h.send(user("dora"), Command("close", "1"))
        assert await h.count(Poll, Poll.closed_at.is_not(None)) == 1
    finally:
        await h.app.stop()


async def test_live_tally_edits_and_native_votes(database_url: str, make_settings: Callable[..., Settings]) -> None:
    adapter = RecordingAdapter()
    h = await start(make_settings(database_url), adapter)
    try:
        await h.send(user("ann"), Command("poll", "Bench colour? | Green | Blue"))
        reply = next(m for _c, m in adapter.sent if isinstance(m, Reply) and m.key)
        assert reply.poll is not None and [o.label for o in reply.poll.options] == ["Green (0)", "Blue (0)"]
        adapter.sent.clear()
        await h.send(user("ben"), NativePollAnswer((reply.poll.options[1].payload,), key=reply.key))
        edits = [m for _c, m in adapter.sent if isinstance(m, Edit)]
        assert edits and edits[-1].message_id == "m1" and "Blue — ██████████ 1 vote" in edits[-1].text
        await h.send(user("ben"), NativePollAnswer((), key=reply.key))
        assert await h.count(Ballot, Ballot.superseded_at.is_(None)) == 0
        assert await h.count(Ballot) == 1, "a withdrawn vote stays in the history"
    finally:
        await h.app.stop()


async def test_anonymous_ballots_hold_no_identity(database_url: str, make_settings: Callable[..., Settings]) -> None:
    adapter = RecordingAdapter()
    h = await start(make_settings(database_url), adapter)
    try:
        await h.send(user("ann"), Command("poll", "Rate the service | Good | Bad | anonymous"))
        await h.send(user("ben"), Command("vote", "1 2"))
        await h.send(user("ben"), Command("vote", "1 1"))
        async with h.app.sessions() as session:
            ballots = list(await session.scalars(select(Ballot)))
        assert len(ballots) == 2 and all(b.voter_user_id is None for b in ballots)
        assert all("ben" not in b.voter_key and not b.voter_key.startswith("u:") for b in ballots)
        assert sum(b.superseded_at is None for b in ballots) == 1
    finally:
        await h.app.stop()


async def test_dialog_times_out(database_url: str, make_settings: Callable[..., Settings]) -> None:
    adapter = RecordingAdapter()
    h = await start(make_settings(database_url), adapter)
    try:
        await h.send(user("ann"), Command("poll"))
        async with h.app.sessions.begin() as session:
            await session.execute(update(Conversation).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        await h.send(user("ann"), Text("Is this a question?"))
        assert await h.count(Conversation) == 0
        assert await h.count(Poll) == 0
    finally:
        await h.app.stop()


async def test_locale_from_client_and_language_command(
    database_url: str, make_settings: Callable[..., Settings]
) -> None:
    adapter = RecordingAdapter()
    h = await start(make_settings(database_url), adapter)
    try:
        await h.send(user("ann", "it-IT"), Command("frob"))
        await h.send(user("ann", "it-IT"), Command("language", "lv"))
        await h.send(user("ann", "it-IT"), Command("frob"))
        first, _switch, last = adapter.texts()
        assert "/frob" in first and first != last
        assert first.startswith("Non ") or "comando" in first
        assert "komand" in last
    finally:
        await h.app.stop()


async def test_outbox_retries_until_pa_store_is_back(
    database_url: str, make_settings: Callable[..., Settings]
) -> None:
    """The PA database is down when the poll closes: the outcome waits in the outbox, then arrives once."""
    settings = make_settings(database_url, pa_database_url="postgresql+asyncpg://nobody@127.0.0.1:1/pa")
    adapter = RecordingAdapter()
    h = await start(settings, adapter)
    try:
        await h.send(user("ann"), Command("poll", "Plant trees? | Yes | No"))
        await h.send(user("ann"), Command("vote", "1 1"))
        await h.send(user("ann"), Command("close", "1"))
        assert await h.count(Outcome) == 1
        await h.app.services.outbox.deliver_due()
        async with h.app.sessions() as session:
            item = await session.scalar(select(OutboxItem))
        assert item is not None and item.delivered_at is None and item.attempts >= 1 and item.last_error
    finally:
        await h.app.stop()
    # The PA store comes back (here: the main database): the same outcome is delivered exactly once.
    h2 = await start(make_settings(database_url), RecordingAdapter())
    try:
        async with h2.app.sessions.begin() as session:
            await session.execute(update(OutboxItem).values(next_attempt_at=datetime.now(UTC)))
        assert await h2.app.services.outbox.deliver_due() == 1
        assert await h2.app.services.outbox.deliver_due() == 0
        outcomes = await read_outcomes(h2.app.pa_sessions)
        assert [o["title"] for o in outcomes] == ["Plant trees?"]
        assert outcomes[0]["result"]["options"] == [{"label": "Yes", "votes": 1}, {"label": "No", "votes": 0}]
        assert outcomes[0]["initiative"] == "Via Roma neighbours"
        assert await h2.count(PAOutcome) == 1
    finally:
        await h2.app.stop()


async def test_deadline_survives_restart_and_fires_once(
    database_url: str, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(database_url)
    first = await start(settings, RecordingAdapter())
    try:
        await first.send(user("ann"), Command("poll", "Open the garden on Sunday? | Yes | No | closes in 2h"))
        await first.send(user("ben"), Command("vote", "1 1"))
        assert await first.count(Job, Job.key == "polls.close.1") == 1, "written with the poll"
    finally:
        await first.app.stop()

    adapter = RecordingAdapter()
    second = await start(settings, adapter)
    try:
        assert await second.count(Job, Job.key == "polls.close.1") == 1, "the deadline job survives a restart"
        # Bring the stored job's time forward instead of waiting two hours.
        async with second.app.sessions.begin() as session:
            await session.execute(update(Job).values(run_at=datetime.now(UTC)))
        second.app.services.jobs.wake()
        for _ in range(200):
            if await second.count(Poll, Poll.closed_at.is_not(None)) == 1:
                break
            await asyncio.sleep(0.05)
        assert await second.count(Outcome) == 1
        for _ in range(100):
            if any(t.startswith("Poll #1 is closed") for t in adapter.texts()):
                break
            await asyncio.sleep(0.05)
        closing = [t for t in adapter.texts() if t.startswith("Poll #1 is closed")]
        assert len(closing) == 1 and "Result: “Yes” with 1 vote." in closing[0]
        assert await second.count(Job) == 0
    finally:
        await second.app.stop()

    third = await start(settings, RecordingAdapter())
    try:
        await asyncio.sleep(0.2)
        assert await third.count(Outcome) == 1, "a fired deadline never fires again"
    finally:
        await third.app.stop()


async def test_overdue_deadline_is_reconciled_at_start(
    database_url: str, make_settings: Callable[..., Settings]
) -> None:
    """A poll whose job row is missing (made before jobs were data) is given one at start and closed."""
    settings = make_settings(database_url)
    first = await start(settings, RecordingAdapter())
    try:
        await first.send(user("ann"), Command("poll", "Paint the wall? | Yes | No | closes in 1h"))
        async with first.app.sessions.begin() as session:
            await session.execute(delete(Job))
            await session.execute(update(Poll).values(closes_at=datetime.now(UTC) - timedelta(minutes=1)))
    finally:
        await first.app.stop()
    second = await start(settings, RecordingAdapter())
    try:
        for _ in range(100):
            if await second.count(Outcome) == 1:
                break
            await asyncio.sleep(0.05)
        assert await second.count(Outcome) == 1
        assert await second.count(Poll, Poll.closed_at.is_not(None)) == 1
    finally:
        await second.app.stop()


async def test_deadline_is_shown_in_the_initiatives_zone_and_language(
    database_url: str, make_settings: Callable[..., Settings]
) -> None:
    adapter = RecordingAdapter()
    h = await start(make_settings(database_url, timezone="Europe/Riga"), adapter)
    try:
        await h.send(user("ann"), Command("poll", "New bus stop? | Yes | No | closes 2027-06-01 18:00"))
        await h.send(user("ann"), Command("settings", "language it"))  # the group's language, for its polls
        await h.send(user("ben", "it"), Command("poll", "Panchine nuove? | Sì | No | chiude tra 3 ore"))
        await h.send(user("ben", "it"), Command("poll", "Panchine nuove? | Sì | No | chiude 2027-06-01 18:00"))
        english, _language, italian_relative, italian = (m for _c, m in adapter.sent if isinstance(m, Reply))
        assert "0 votes · closes 6/1/27, 6:00\u202fPM" in english.text
        assert "0 voti · chiude il " in italian_relative.text, "Italian keywords and units are understood"
        assert "0 voti · chiude il 01/06/27, 18:00" in italian.text
        async with h.app.sessions() as session:
            closes = await session.scalar(select(Poll.closes_at).where(Poll.number == 1))
        assert closes == datetime(2027, 6, 1, 15, 0, tzinfo=UTC), "18:00 in Riga is 15:00 UTC in summer"
    finally:
        await h.app.stop()


class CrashingAdapter(RecordingAdapter):
    """Dies (like a killed process) the moment the core hands it a message to show: the sending task
    ends there, the message is never accepted."""

    async def send(self, chat: ChatRef, message: Outgoing) -> str | None:
        raise asyncio.CancelledError


async def test_replies_interrupted_by_a_crash_are_sent_after_restart(
    database_url: str, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(database_url)
    first = await start(settings, CrashingAdapter())
    try:
        await first.send(user("ann"), Command("poll", "Fix the lights? | Yes | No"), update_id="7")
        assert await first.count(Poll) == 1, "the update committed before the crash"
        assert first.adapter.sent == []
    finally:
        await first.app.stop()

    adapter = RecordingAdapter()
    second = await start(settings, adapter)
    try:
        for _ in range(100):  # the sender finds what the crash left as soon as it starts
            if adapter.sent:
                break
            await asyncio.sleep(0.02)
        [(_chat, shown)] = adapter.sent
        assert isinstance(shown, Reply) and shown.text.startswith("Poll #1: Fix the lights?") and shown.buttons
        await second.send(user("ann"), Command("poll", "Fix the lights? | Yes | No"), update_id="7")
        assert len(adapter.sent) == 1, "the redelivered update is still skipped"
        await second.send(user("ben"), ButtonPress(shown.buttons[0].payload))
        edit = next(m for _c, m in adapter.sent if isinstance(m, Edit))
        assert edit.message_id == "m1", "the message shown after the restart is the one later edits change"
    finally:
        await second.app.stop()
    third = await start(settings, RecordingAdapter())
    try:
        assert third.adapter.sent == [], "delivered replies are not sent again"
    finally:
        await third.app.stop()
