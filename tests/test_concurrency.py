"""Nothing lost, nothing twice, with one worker or several on one database: jobs as data, race-free
writes, tallies that converge, leases, dead letters, flood control and anonymous ballots. Each test
runs on SQLite and on PostgreSQL; "several workers" are several ``App``s on one PostgreSQL database."""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.engine import make_url

from bot.app import App
from bot.config import ConfigError, Settings, load_settings
from bot.context import Context
from bot.deadletters import list_letters, replay
from bot.events import ButtonPress, ChatRef, Command, Edit, Notice, Outgoing, Reply, Update, UserRef
from bot.i18n import N_
from bot.interlinker import Catalogue, Interlinker, command, job
from bot.roles import Role
from interlinkers.polls import Polls
from interlinkers.polls._models import Ballot, Poll
from storage.leases import DatabaseInUse, claim_sqlite
from storage.models import (
    DeadLetter,
    Initiative,
    Job,
    Membership,
    Outcome,
    PendingReply,
    ProcessedUpdate,
    User,
)
from storage.state import AdapterState
from tests.test_core import RecordingAdapter, user

GROUP = ChatRef("test", "group-1", title="Parco Sempione")


class Screen:
    """What a chat shows: messages by id, edits applied (shared by the adapters of several workers)."""

    def __init__(self) -> None:
        self.messages: dict[str, str] = {}
        self.order: list[tuple[str, Outgoing]] = []


class ScreenAdapter(RecordingAdapter):
    """Records onto a shared ``Screen``; ``delay`` makes each send take time (a rate-limited network);
    ``waits_for_replies`` False like Telegram, so handling never waits for sending."""

    waits_for_replies = False

    def __init__(self, screen: Screen, delay: float = 0.0) -> None:
        super().__init__()
        self.screen, self.delay = screen, delay

    async def send(self, chat: ChatRef, message: Outgoing) -> str | None:
        if self.delay:
            await asyncio.sleep(self.delay)
        self.screen.order.append((chat.chat_id, message))
        if isinstance(message, Edit) and message.message_id is not None:
            self.screen.messages[message.message_id] = message.text
            return message.message_id
        message_id = f"m{len(self.screen.order)}"
        if isinstance(message, Reply):
            self.screen.messages[message_id] = message.text
        return message_id


async def _until(predicate: Callable[[], object], within: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def _count(app: App, model: type, *where: object) -> int:
    async with app.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def _none_left(app: App, model: type, *where: object) -> bool:
    return await _count(app, model, *where) == 0


async def _workers(settings: Settings, adapters: list[RecordingAdapter]) -> list[App]:
    """One worker on SQLite (it serves one process), ``len(adapters)`` on PostgreSQL."""
    sqlite = settings.database_url.startswith("sqlite")
    apps = []
    for adapter in adapters[:1] if sqlite else adapters:
        app = App(settings, adapters=[adapter], http=False)
        await app.start()
        apps.append(app)
    return apps


async def _stop(apps: list[App]) -> None:
    for app in apps:
        await app.stop()


@contextlib.asynccontextmanager
async def _running(settings: Settings, adapter: RecordingAdapter, **options: Any) -> AsyncIterator[App]:
    app = App(settings, adapters=[adapter], http=False, **options)
    await app.start()
    try:
        yield app
    finally:
        await app.stop()


_counter = 0


def _update(who: UserRef, event: object, chat: ChatRef = GROUP) -> Update:
    global _counter
    _counter += 1
    return Update(f"c{_counter}", chat, who, event)  # type: ignore[arg-type]


async def test_forty_deadlines_at_once_each_close_once_even_with_the_store_locked(
    database_url: str, make_settings: Callable[..., Settings]
) -> None:
    """Defect 2 (and 7 on PostgreSQL): every poll gets its closing job in its own transaction; while the
    store's write lock is held around the deadlines nothing is lost and the HTTP side stays responsive;
    with two workers each deadline still fires exactly once."""
    screen = Screen()
    settings = make_settings(database_url)
    apps = await _workers(settings, [ScreenAdapter(screen), ScreenAdapter(screen)])
    http = App(settings, adapters=[], http=True) if not settings.database_url.startswith("sqlite") else None
    try:
        for i in range(40):
            await apps[i % len(apps)].handle(_update(user("ann"), Command("poll", f"Q{i}? | Yes | No | closes in 1m")))
        assert await _count(apps[0], Job) == 40, "every deadline is a row, written with its poll"
        blocker = None
        if settings.database_url.startswith("sqlite"):
            blocker = sqlite3.connect(make_url(settings.database_url).database, timeout=1)
            blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock when the deadlines come
        async with apps[0].sessions.begin() as session:
            if blocker is None:
                await session.execute(update(Job).values(run_at=datetime.now(UTC)))
        if blocker is not None:
            blocker.execute("UPDATE jobs SET run_at = ?", (datetime.now(UTC).isoformat(sep=" "),))
        for app in apps:
            app.services.jobs.wake()
        await asyncio.sleep(1.5)
        if blocker is not None:
            loop = asyncio.get_running_loop()
            started = loop.time()
            await apps[0].services.jobs.run_due()  # returns (store busy) instead of blocking the loop
            assert loop.time() - started < 12
            blocker.commit()
            blocker.close()
        await _until(lambda: _none_left(apps[0], Poll, Poll.closed_at.is_(None)), 30)
        assert await _count(apps[0], Outcome) == 40, "each deadline fired once"
        assert await _count(apps[0], Job) == 0
        await _until(lambda: sum(isinstance(m, Reply) and m.text.startswith("Poll #") and "is closed" in m.text
                                 for _c, m in screen.order) >= 40)
        await asyncio.sleep(0.5)
        closing = [m.text for _c, m in screen.order if isinstance(m, Reply) and "is closed" in m.text]
        assert len(closing) == 40, "one closing message per poll"
    finally:
        await _stop(apps)
        if http is not None:
            await http.stop()


async def test_first_updates_of_new_people_and_chats_at_once_all_commit(
    database_url: str, make_settings: Callable[..., Settings]
) -> None:
    """Defect 3: concurrent first updates (a new person pressing and voting at the same instant, the first
    speakers of a new chat, two /poll at once) on two workers: every one committed, nothing skipped."""
    screen = Screen()
    settings = make_settings(database_url)
    apps = await _workers(settings, [ScreenAdapter(screen), ScreenAdapter(screen)])
    try:
        await apps[0].handle(_update(user("ann"), Command("poll", "Benches? | Yes | No")))
        [poll_reply] = [m for _c, m in screen.order if isinstance(m, Reply) and m.key] or [None]
        if poll_reply is None:
            await _until(lambda: any(isinstance(m, Reply) and m.key for _c, m in screen.order))
            poll_reply = next(m for _c, m in screen.order if isinstance(m, Reply) and m.key)
        press = poll_reply.buttons[0].payload
        newcomers = [user(f"new{i}") for i in range(12)]
        updates = []
        for i, who in enumerate(newcomers):
            updates.append(_update(who, ButtonPress(press)))
            updates.append(_update(who, Command("vote", "1 2")))
            other = ChatRef("test", f"fresh-{i % 3}", title="New street group")
            updates.append(_update(who, Command("poll", f"Street {i}? | A | B"), chat=other))
        await asyncio.gather(*(apps[i % len(apps)].handle(u) for i, u in enumerate(updates)))
        assert await _count(apps[0], ProcessedUpdate) == len(updates) + 1
        assert await _count(apps[0], DeadLetter) == 0
        assert await _count(apps[0], User) == 13
        assert await _count(apps[0], Ballot, Ballot.superseded_at.is_(None)) == 12, "one current vote each"
        assert await _count(apps[0], Initiative) == 4, "one initiative per chat, however many spoke first"
        async with apps[0].sessions() as session:
            numbers = sorted((await session.execute(select(Poll.initiative_id, Poll.number))).all())
        by_initiative: dict[int, list[int]] = {}
        for initiative, number in numbers:
            by_initiative.setdefault(initiative, []).append(number)
        assert all(sorted(n) == list(range(1, len(n) + 1)) for n in by_initiative.values()), by_initiative
        organisers = await _count(apps[0], Membership, Membership.role >= Role.ORGANISER)
        assert organisers == 4, "exactly one first speaker organises each new chat"
        state = AdapterState(apps[0].sessions)
        await asyncio.gather(*(AdapterState(app.sessions).set("test", "k", str(i)) for i, app in enumerate(apps * 5)))
        assert await state.get("test", "k") is not None
    finally:
        await _stop(apps)


async def test_tally_shown_converges_to_the_stored_one(
    database_url: str, make_settings: Callable[..., Settings]
) -> None:
    """Defect 4: 25 presses at once on two workers, then quiet: the poll message shows the stored tally."""
    screen = Screen()
    settings = make_settings(database_url)
    apps = await _workers(settings, [ScreenAdapter(screen, delay=0.01), ScreenAdapter(screen, delay=0.01)])
    try:
        await apps[0].handle(_update(user("ann"), Command("poll", "Colour of the benches? | Green | Blue | Red")))
        await _until(lambda: any(isinstance(m, Reply) and m.key for _c, m in screen.order))
        poll_reply = next(m for _c, m in screen.order if isinstance(m, Reply) and m.key)
        presses = [_update(user(f"v{i}"), ButtonPress(poll_reply.buttons[i % 3].payload)) for i in range(25)]
        await asyncio.gather(*(apps[i % len(apps)].handle(u) for i, u in enumerate(presses)))
        async with apps[0].sessions() as session:
            stored = dict((await session.execute(
                select(Ballot.position, func.count()).where(Ballot.superseded_at.is_(None)).group_by(Ballot.position)
            )).all())
        await _until(lambda: _none_left(apps[0], PendingReply))
        await asyncio.sleep(0.3)
        shown = screen.messages[next(k for k, t in screen.messages.items() if "Colour of the benches?" in t)]
        assert "25 votes" in shown, shown
        counts = [int(m) for m in re.findall(r"(\d+) votes? \(", shown)]
        assert counts == [stored.get(p, 0) for p in (1, 2, 3)], shown
    finally:
        await _stop(apps)


async def test_one_member_flooding_a_group_does_not_bury_the_others(
    database_url: str, make_settings: Callable[..., Settings]
) -> None:
    """Per-user flood control: Ann sends 30 commands, then Ben one; Ben's answer comes next in turn,
    not after all of Ann's (the network takes each message slowly, like a group's 20/min budget)."""
    screen = Screen()
    settings = make_settings(database_url)
    [app] = await _workers(settings, [ScreenAdapter(screen, delay=0.05)])
    try:
        await app.handle(_update(user("ann"), Command("poll", "Picnic? | Yes | No")))
        for i in range(30):
            await app.handle(_update(user("ann"), Command("vote", f"1 {1 + i % 2}")))
        await app.handle(_update(user("ben"), Command("results", "1")))
        await _until(lambda: any(isinstance(m, Reply) and m.text.startswith("Poll #1: Picnic?") and "%" in m.text
                                 for _c, m in screen.order), 10)
        replies = [m for _c, m in screen.order if isinstance(m, Reply)]
        position = next(i for i, m in enumerate(replies) if "%" in m.text)
        assert position <= 4, f"Ben's answer came {position}th, behind Ann's flood"
        await _until(lambda: len([m for _c, m in screen.order if isinstance(m, Reply)]) >= 32, 15)
        assert len([m for _c, m in screen.order if isinstance(m, Reply)]) == 32, "Ann's answers all come too"
    finally:
        await app.stop()


async def test_leases_move_when_their_holder_stops(
    database_url: str, make_settings: Callable[..., Settings]
) -> None:
    """Defect 7: one sender per network across workers, taken over within seconds; migrations under a
    lock (two upgrades at once both succeed); a second SQLite process refuses with one clear line."""
    settings = make_settings(database_url)
    if settings.database_url.startswith("sqlite"):
        database = make_url(settings.database_url).database
        held = claim_sqlite(database)
        with pytest.raises(DatabaseInUse, match="SQLite serves one process"):
            await App(settings, adapters=[RecordingAdapter()], http=False).start()
        held.close()
        return
    await asyncio.gather(App(settings, http=False).migrate(), App(settings, http=False).migrate())
    screen = Screen()
    first, second = await _workers(settings, [ScreenAdapter(screen), ScreenAdapter(screen)])
    try:
        await _until(lambda: first.services.sender.holds("test") or second.services.sender.holds("test"))
        holder, other = (first, second) if first.services.sender.holds("test") else (second, first)
        assert not other.services.sender.holds("test"), "one sender per network"
        await holder.stop()
        loop = asyncio.get_running_loop()
        started = loop.time()
        await _until(lambda: other.services.sender.holds("test"), 10)
        assert loop.time() - started < 10
        await other.handle(_update(user("ann"), Command("poll", "Still here? | Yes | No")))
        await _until(lambda: any(isinstance(m, Reply) and "Still here?" in m.text for _c, m in screen.order))
    finally:
        for app in (first, second):
            if app.services.sender._holders:
                await app.stop()


def test_postgres_without_a_shared_secret_refuses_to_start(tmp_path: object) -> None:
    settings = load_settings(environ={"INTERLINK_DATABASE_URL": "postgresql://x@127.0.0.1:1/db",
                                      "INTERLINK_STATE_DIR": str(tmp_path)})
    with pytest.raises(ConfigError, match=r"^INTERLINK_SECRET must be set when the database is PostgreSQL"):
        settings.check_shared_secret()


class Fragile(Interlinker):
    """Fails the first time (a bug, later fixed): its update must end in the dead letters, replayable."""

    name = "fragile"
    catalogue = Catalogue(title=N_("Core"), description=N_("Core"))
    broken = True

    @command("fragile", help=N_("Core"))
    async def fragile(self, ctx: object, args: str) -> None:
        if Fragile.broken:
            raise RuntimeError("a bug")
        ctx.reply("fixed: " + args)  # type: ignore[attr-defined]


async def test_an_update_that_keeps_failing_is_a_dead_letter_and_can_be_replayed(
    database_url: str, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(database_url)
    adapter = RecordingAdapter()
    app = App(settings, adapters=[adapter], interlinkers=[Polls, Fragile], http=True)
    await app.start()
    try:
        Fragile.broken = True
        await app.handle(_update(user("ann"), Command("fragile", "hello")))
        assert adapter.texts()[-1] == "Something went wrong on our side; nothing was changed. Please try again."
        async with aiohttp.ClientSession() as client:
            async with client.get(f"http://127.0.0.1:{app.http_server.port}/healthz") as response:
                assert (await response.json())["dead_letters"] == 1
        [letter] = await list_letters(app.sessions)
        assert letter.kind == "update" and letter.summary == "RuntimeError: a bug"
        Fragile.broken = False
        assert await replay(app.sessions, app.dispatcher, letter.id)
        await _until(lambda: adapter.texts()[-1] == "fixed: hello")
        assert await list_letters(app.sessions) == []
        assert not await replay(app.sessions, app.dispatcher, letter.id), "a replay happens once"
    finally:
        await app.stop()


async def test_anonymous_ballots_carry_nothing_that_follows_the_voter(
    database_url: str, make_settings: Callable[..., Settings]
) -> None:
    async with _running(make_settings(database_url), RecordingAdapter()) as app:
        await app.handle(_update(user("ann"), Command("poll", "Secret? | Yes | No | anonymous")))
        for i in range(6):
            await app.handle(_update(user(f"p{i}"), Command("vote", f"1 {1 + i % 2}")))
        await app.handle(_update(user("p0"), Command("vote", "1 2")))  # a changed vote keeps no time either
        async with app.sessions() as session:
            poll = await session.scalar(select(Poll))
            ballots = list(await session.scalars(select(Ballot)))
            joined = list(await session.scalars(select(Membership.joined_at)))
            created = list(await session.scalars(select(User.created_at)))
        assert poll is not None and len(ballots) == 7
        assert all(b.voter_user_id is None for b in ballots)
        assert {b.cast_at for b in ballots} == {poll.created_at}, "no ballot says when it was cast"
        assert {b.superseded_at for b in ballots} == {None, poll.created_at}
        ids = [b.id for b in ballots]
        assert max(ids) - min(ids) > 1000, "ids are random, not the order in which people voted"
        assert all(t.hour == t.minute == t.second == 0 for t in joined + created), "joins kept to the day"


async def test_a_forged_press_is_answered_in_its_pop_up_only(
    database_url: str, make_settings: Callable[..., Settings]
) -> None:
    """Defect 5 (core side): errors from a button are a Notice (an alert), never a group message."""
    adapter = RecordingAdapter()
    async with _running(make_settings(database_url), adapter) as app:
        await app.handle(_update(user("ann"), Command("poll", "Bins? | Yes | No")))
        before = len(adapter.sent)
        await app.handle(_update(user("eve"), ButtonPress("1.polls.v.1.1~forged")))
        [(_chat, answer)] = adapter.sent[before:]
        assert isinstance(answer, Notice) and answer.alert
        assert answer.text == "This button is not valid any more. Send /help to start again."


class Flaky(Interlinker):
    """A job that fails while ``failures_left`` > 0 (a bug, a PA endpoint down), then works."""

    name = "flaky"
    catalogue = Catalogue(title=N_("Core"), description=N_("Core"))
    failures_left = 0
    runs = 0

    @command("later", help=N_("Core"))
    async def later(self, ctx: Context, args: str) -> None:
        await ctx.schedule(self.name, "run", datetime.now(UTC), "flaky.1", word=args)

    @job("run")
    async def run(self, ctx: Context, word: str) -> None:
        Flaky.runs += 1
        if Flaky.failures_left > 0:
            Flaky.failures_left -= 1
            raise RuntimeError("the endpoint is down")
        ctx.reply(f"done: {word}")


async def test_a_failing_job_is_retried_then_kept_as_a_dead_letter_and_replayed(
    database_url: str, make_settings: Callable[..., Settings]
) -> None:
    adapter = RecordingAdapter()
    async with _running(make_settings(database_url), adapter, interlinkers=[Polls, Flaky]) as app:
        Flaky.failures_left, Flaky.runs = 1, 0
        await app.handle(_update(user("ann"), Command("later", "first")))
        await _until(lambda: Flaky.runs >= 1)
        await asyncio.sleep(0.2)
        async with app.sessions() as session:
            job_row = await session.scalar(select(Job))
        assert job_row is not None and job_row.attempts == 1 and "endpoint is down" in (job_row.last_error or "")
        assert job_row.run_at > datetime.now(UTC), "retried later, with backoff"
        async with app.sessions.begin() as session:
            await session.execute(update(Job).values(run_at=datetime.now(UTC)))
        app.services.jobs.wake()
        await _until(lambda: "done: first" in adapter.texts())
        assert Flaky.runs == 2 and await _count(app, Job) == 0, "ran to the end exactly once"

        Flaky.failures_left = 99
        await app.handle(_update(user("ann"), Command("later", "second")))
        await _until(lambda: Flaky.runs >= 3)
        async with app.sessions.begin() as session:  # as if it had failed four times already
            await session.execute(update(Job).values(attempts=4, run_at=datetime.now(UTC)))
        app.services.jobs.wake()
        await _until(lambda: _none_left(app, Job))
        [letter] = await list_letters(app.sessions)
        assert letter.kind == "job" and letter.origin == "flaky.1" and "endpoint is down" in letter.summary
        Flaky.failures_left = 0
        assert await replay(app.sessions, app.dispatcher, letter.id)
        app.services.jobs.wake()
        await _until(lambda: "done: second" in adapter.texts())
        assert await list_letters(app.sessions) == [] and await _count(app, Job) == 0
