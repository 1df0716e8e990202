"""Reminders in bulk (issue: "10 000 reminders due in the same minute across 2 000 chats, under the local Bot
API server's enforced limits, with one chat answering 429").

Setup: ``--chats`` groups on the local Bot API server (``tests.botapi.FakeBotAPI``, limits enforced: 1/s per
chat, 20/min per group, ``--global-rate``/s overall), each with its events made by the scheduling
Interlinker's own ``create_event`` (what ``/event`` runs; one reminder lead time each), ``--reminders`` in
all. Their messages and outcomes are dropped, so only the reminders go out. Then a real worker (``interlink
run``, long polling, a process of its own configured with the server's limits) is started on that database,
and every ``remind`` job is moved to one instant two seconds ahead (``jobs.run_at``): all due at once.

Figures, each measured from outside (the messages the server accepted, per chat and reminder):

- achieved rate (unique reminders / seconds from "due" to the last one shown) over the rate the limits
  allow (goal ≥ 0.95);
- with one chat answering 429 (``retry_after``) for ``--throttled-for`` seconds: when the *other* chats got
  their reminders (p50, p99, last), next to the same figures of the clean run;
- with the worker SIGKILLed once half the reminders were shown and a new one started on the same
  database: every (chat, reminder) shown exactly once? (duplicates, missing);
- baseline: the allowed rate itself, and the same reminders (chats, titles) sent by a plain loop through
  python-telegram-bot's ``AIORateLimiter`` (as ``telegram_bench.py`` part 2) to the same kind of server,
  with the same chat answering 429.

Each run also notes when the first reminder was shown and when every reminder job had run (read from the
database), how long a ``/events`` sent by a group without events one second after "due" waited for its
answer (a bystander), and the worker's CPU seconds. SQLite: the events are made once and the database file
copied for each run; PostgreSQL: made in a fresh database for each run.

Run: ``.venv/bin/python bench/reminders_bench.py [--reminders 10000] [--chats 2000] [--global-rate 100]
[--runs clean,429,restart] [--ptb-retries 0,3 | --skip-ptb] [--db sqlite|postgres|both]`` (PostgreSQL:
``--postgres-url`` or ``INTERLINK_TEST_POSTGRES_URL``). At the issue's size, about 15 minutes per database
on 2 cores, mostly the limits themselves (100 s a run at 100/s); ``--reminders 1000 --chats 200``: 2.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _webhook_load import (
    POSTGRES_ENV,
    MachineCPU,
    cpu_seconds,
    log_tail,
    postgres_admin_url,
    postgres_database,
    stop_process,
)
from sqlalchemy import func, select
from telegram_bench import _ptb_sender

from bot.app import App
from bot.config import load_settings
from bot.context import Context
from bot.events import ChatRef, UserRef
from bot.i18n import using_locale
from bot.identity import identify
from bot.roles import Role
from storage.engine import create_engine
from storage.models import Job, OutboxItem
from tests.botapi import Chat, FakeBotAPI, Limits, User
from tests.net import free_port
from tests.telegram.harness import environment
from tests.telegram.test_three_workers import _ready

RUNS = {"clean": "Interlink, clean", "429": "Interlink, 1 chat 429 for {seconds} s",
        "restart": "Interlink, SIGKILL at half"}
LEAD = "1h"  # each event's one reminder (the job is moved to the common instant anyway)
ASK_AFTER = 1.0  # seconds after due: a bystander group sends /events
DUE_IN = 2.5  # seconds from moving the jobs to their being due: the worker's job loop looks every 2 s
_TITLE = re.compile(r"^Reminder: (c\d+e\d+) starts")


# --- the scenario -----------------------------------------------------------------------------------


@dataclass
class Scenario:
    """The groups (the same ids on every server) and how many reminders each gets."""

    reminders: int
    chats: int
    limits: Limits
    organisers: list[User] = field(default_factory=list)
    groups: list[Chat] = field(default_factory=list)
    asker: User | None = None
    quiet: Chat | None = None

    def per_chat(self, index: int) -> int:
        return self.reminders // self.chats + (index < self.reminders % self.chats)

    @staticmethod
    def chat_id(index: int) -> int:
        return -1_000_000_000 - index

    def expected(self) -> set[tuple[int, str]]:
        return {(self.chat_id(c), f"c{c}e{k}") for c in range(self.chats) for k in range(self.per_chat(c))}

    def register(self, api: FakeBotAPI) -> None:
        self.organisers = [api.user(9_000_000 + c, f"Org{c}") for c in range(self.chats)]
        self.groups = [api.group(self.chat_id(c), f"Bench group {c}", [o], admins=[o])
                       for c, o in enumerate(self.organisers)]
        self.asker = api.user(8_999_999, "Asker")
        self.quiet = api.group(-999_999_999, "Quiet group", [self.asker])  # no events: a bystander

    @property
    def stormy(self) -> Chat:
        """The chat that answers 429: the first one, whose reminders are the first to run (once registered)."""
        return self.groups[0]

    def allowed_seconds(self, messages: int | None = None) -> float:
        """The shortest time the enforced limits allow for ``messages`` (default: every reminder; same rule
        as telegram_bench: ``messages / global rate``, or the busiest chat's own limits if those bind)."""
        count, window = self.limits.global_
        busiest = max(self.per_chat(c) for c in range(self.chats))
        per_chat = (math.ceil(busiest / self.limits.per_chat[0]) - 1) * self.limits.per_chat[1]
        per_group = (math.ceil(busiest / self.limits.per_group[0]) - 1) * self.limits.per_group[1]
        return max((messages or self.reminders) / count * window, per_chat, per_group, 1e-9)

    def allowed_rate(self) -> float:
        return self.reminders / self.allowed_seconds()


def _settings_env(api: FakeBotAPI, state_dir: Path, db_url: str, limits: Limits) -> dict[str, str]:
    """What an operator sets: the server, the database, and the limits the server enforces."""
    env = environment(api, state_dir)
    env.update({
        "INTERLINK_DATABASE_URL": db_url,
        "INTERLINK_TELEGRAM_RATE_PER_CHAT": f"{limits.per_chat[0]}/{limits.per_chat[1]:g}s",
        "INTERLINK_TELEGRAM_RATE_PER_GROUP": f"{limits.per_group[0]}/{limits.per_group[1] / 60:g}min",
        "INTERLINK_TELEGRAM_RATE_GLOBAL": f"{limits.global_[0]}/{limits.global_[1]:g}s",
    })
    return env


async def create_events(scenario: Scenario, api: FakeBotAPI, state_dir: Path, db_url: str) -> float:
    """Each group's organiser plans its events through the Interlinker's ``create_event`` (what ``/event``
    runs), 50 groups per transaction; what that says in the chats and tells the PA is dropped. Seconds."""
    started = time.perf_counter()
    settings = load_settings(environ=_settings_env(api, state_dir, db_url, scenario.limits))
    app = App(settings, adapters=[], http=False)
    await app.migrate()
    app.register_interlinkers()
    events = app.services.interlinkers["scheduling"]
    starts = (datetime.now(UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    try:
        for first in range(0, scenario.chats, 50):
            async with app.sessions.begin() as session:
                for c in range(first, min(first + 50, scenario.chats)):
                    group, organiser = scenario.groups[c], scenario.organisers[c]
                    chat = ChatRef("telegram", str(group.id), title=group.title)
                    who = UserRef("telegram", str(organiser.id), organiser.first_name, "en")
                    initiative, person, _role = await identify(session, chat, who, settings.timezone, "en")
                    ctx = Context(app.services, session, chat, initiative, person, who, Role.ORGANISER)
                    with using_locale(initiative.locale):
                        for k in range(scenario.per_chat(c)):
                            await events.create_event(  # type: ignore[attr-defined]
                                ctx, title=f"c{c}e{k}", start=starts + timedelta(minutes=k), rule=None,
                                minutes=60, place=None, capacity=None, reminders=LEAD, creator_id=person.id,
                                origin="event")
        async with app.sessions.begin() as session:
            await session.execute(OutboxItem.__table__.delete())
    finally:
        await app.engine.dispose()
    return time.perf_counter() - started


async def make_due(db_url: str) -> float:
    """Every reminder job due ``DUE_IN`` seconds from now (one instant); returns that instant (epoch)."""
    due = time.time() + DUE_IN
    engine = create_engine(db_url)
    try:
        async with engine.begin() as connection:
            moved = await connection.execute(Job.__table__.update().where(Job.job == "remind")
                                             .values(run_at=datetime.fromtimestamp(due, UTC)))
    finally:
        await engine.dispose()
    if moved.rowcount == 0:
        raise RuntimeError("no reminder jobs in the database")
    return due


async def watch_jobs(db_url: str, due: float) -> float:
    """Seconds after ``due`` until no reminder job due then is left (all ran and committed)."""
    engine = create_engine(db_url)
    moment = datetime.fromtimestamp(due, UTC)
    try:
        while True:
            async with engine.connect() as connection:
                left = await connection.scalar(select(func.count()).select_from(Job.__table__).where(
                    Job.job == "remind", Job.run_at <= moment))
            if not left:
                return time.time() - due
            await asyncio.sleep(0.25)
    finally:
        await engine.dispose()


# --- one run of the worker ----------------------------------------------------------------------------


def spawn(api: FakeBotAPI, state_dir: Path, db_url: str, limits: Limits, port: int, log: Path
          ) -> subprocess.Popen[bytes]:
    """``interlink run`` (long polling) against ``api``, on ``db_url``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTERLINK_")}
    env.update(_settings_env(api, state_dir, db_url, limits))
    env["INTERLINK_HTTP_PORT"] = str(port)
    interlink = Path(sys.executable).with_name("interlink")
    return subprocess.Popen([str(interlink), "run"], env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)


@dataclass
class Figures:
    """One run, seen from the server: each shown reminder's delay after the common due instant."""

    label: str
    delays: dict[tuple[int, str], list[float]]  # (chat, reminder) → delays of each time it was shown
    scenario: Scenario
    throttled: int  # 429s the server gave besides the injected ones (our limits exceeded)
    storm: bool = False  # the first chat answered 429: the rate counts the other chats
    jobs_done: float | None = None  # seconds after due until every reminder job had run
    notes: list[str] = field(default_factory=list)

    @property
    def first_chat(self) -> int:
        return self.scenario.chat_id(0)

    @property
    def duplicates(self) -> int:
        return sum(len(v) - 1 for v in self.delays.values() if len(v) > 1)

    @property
    def missing(self) -> int:
        return len(self.scenario.expected() - self.delays.keys())

    def _firsts(self, others: bool) -> list[float]:
        return sorted(min(v) for (chat, _title), v in self.delays.items() if not others or chat != self.first_chat)

    @property
    def rate(self) -> float:
        """Reminders shown / seconds until the last: of every chat, or (storm) of the chats not throttled."""
        shown = self._firsts(self.storm)
        return len(shown) / shown[-1] if shown else float("nan")

    @property
    def allowed(self) -> float:
        count = self.scenario.reminders - (self.scenario.per_chat(0) if self.storm else 0)
        return count / self.scenario.allowed_seconds(count)

    @property
    def first(self) -> float:
        shown = self._firsts(False)
        return shown[0] if shown else math.nan

    def others(self, q: float) -> float:
        """The ``q`` quantile of when the chats but the first got their reminders."""
        ordered = self._firsts(True)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")

    def first_chat_last(self) -> float:
        return max((min(v) for (chat, _t), v in self.delays.items() if chat == self.first_chat), default=math.nan)

    def row(self) -> str:
        return (f"   {self.label:<34}{self.rate:8.1f} {self.rate / self.allowed:7.3f} {self.others(0.5):7.1f} "
                f"{self.others(0.99):7.1f} {self.others(1.0):7.1f} {_seconds(self.first_chat_last())} "
                f"{self.duplicates:5d} {self.missing:5d} {self.throttled:5d}")


HEADER = (f"   {'':<34}{'msg/s':>8} {'÷allow':>7} {'p50':>7} {'p99':>7} {'last':>7} {'chat 1':>7} {'dup':>5} "
          f"{'lost':>5} {'429s':>5}")


def _seconds(value: float) -> str:
    return f"{'-':>7}" if math.isnan(value) else f"{value:7.1f}"


class Shown:
    """Reminders the server accepted, read incrementally from ``api.sent``; and when the quiet group got its
    answer."""

    def __init__(self, api: FakeBotAPI, due_monotonic: float, quiet: int | None = None) -> None:
        self.api = api
        self.quiet = quiet
        self.answered: float | None = None
        self.due = due_monotonic
        self.read = 0
        self.delays: dict[tuple[int, str], list[float]] = {}
        self.other = 0  # messages that are not reminders (there should be none)

    def update(self) -> int:
        sent = self.api.sent
        for item in sent[self.read:]:
            match = _TITLE.match(item.text) if item.method == "sendMessage" else None
            if item.chat_id == self.quiet:
                self.answered = item.at if self.answered is None else self.answered
                continue
            if match is None:
                self.other += 1
                continue
            self.delays.setdefault((item.chat_id, match.group(1)), []).append(item.at - self.due)
        self.read = len(sent)
        return len(self.delays)


def _sent_more_than(api: FakeBotAPI, count: int) -> Callable[[], bool]:
    return lambda: len(api.sent) > count


async def run_worker(scenario: Scenario, db_url: str, work: Path, label: str, *, storm: tuple[int, int] | None,
                     restart: bool) -> Figures:
    """One worker sends every reminder (``storm``: the stormy chat answers 429 ``(retry_after, times)``;
    ``restart``: SIGKILL at half, then a new worker on the same database)."""
    async with FakeBotAPI(limits=scenario.limits) as api:
        scenario.register(api)
        state = work / label.replace(" ", "_")
        state.mkdir(parents=True, exist_ok=True)
        port = free_port()
        worker = spawn(api, state, db_url, scenario.limits, port, state / "worker.log")
        notes: list[str] = []
        try:
            try:
                await _ready(port, within=60)
            except AssertionError:
                raise RuntimeError(f"the worker did not start:\n{log_tail(state / 'worker.log')}") from None
            if storm is not None:
                api.inject_429(scenario.stormy.id, storm[0], storm[1])
            due = await make_due(db_url)
            jobs = asyncio.create_task(watch_jobs(db_url, due))
            machine, cpu = MachineCPU(), cpu_seconds(worker.pid)
            shown = Shown(api, time.monotonic() + (due - time.time()), scenario.quiet.id if scenario.quiet else None)
            deadline = due + scenario.allowed_seconds() * 4 + 60
            killed, asked = False, None
            while shown.update() < len(scenario.expected()) and time.time() < deadline:
                if asked is None and time.time() > due + ASK_AFTER and scenario.quiet and scenario.asker:
                    asked = time.monotonic()  # a bystander's command while the reminders go out
                    api.send_text(scenario.asker, scenario.quiet, "/events")
                if restart and not killed and len(shown.delays) >= len(scenario.expected()) // 2:
                    at = time.time() - due
                    cpu -= cpu_seconds(worker.pid)
                    worker.kill()  # SIGKILL: no drain, requests in flight cut off
                    await asyncio.to_thread(worker.wait)
                    await asyncio.sleep(0.2)  # what the server still had in hand from the dead worker
                    before = len(api.sent)
                    port = free_port()
                    worker = spawn(api, state, db_url, scenario.limits, port, state / "worker.log")
                    cpu += cpu_seconds(worker.pid)  # what it used starting counts too (as 0: it just began)
                    killed = True
                    await api.wait_for(_sent_more_than(api, before), within=60)
                    notes.append(f"SIGKILL at {at:.1f} s ({len(shown.delays)} shown); the new worker's first "
                                 f"message {time.time() - due - at:.1f} s later")
                await asyncio.sleep(0.05)
            await asyncio.sleep(2.0)  # anything sent twice arrives now at the latest
            shown.update()
            busy, cpu, wall = machine.busy(), cpu_seconds(worker.pid) - cpu, time.time() - due
            jobs_done = await asyncio.wait_for(jobs, 30) if shown.delays else None
        finally:
            await stop_process(worker)
        firsts = sorted(min(v) for (chat, _title), v in shown.delays.items()
                        if storm is None or chat != scenario.chat_id(0))  # as the rate: the chats not throttled
        if len(firsts) > 1 and jobs_done is not None:
            sending = len(firsts) / (firsts[-1] - firsts[0])
            notes.insert(0, f"first reminder shown {firsts[0]:.1f} s after due; every reminder job had run "
                            f"{jobs_done:.1f} s after due; from the first reminder shown to the last "
                            f"{sending:.1f} msg/s")
        if asked is not None:
            answer = "never" if shown.answered is None else f"{shown.answered - asked:.1f} s later"
            notes.append(f"/events in a group without events, sent {ASK_AFTER:g} s after due: answered {answer}")
        notes.append(f"the worker used {cpu:.0f} CPU s in those {wall:.0f} s ({cpu / wall:.0%} of a core); "
                     f"the machine's CPUs were {busy:.0%} busy (this server, the worker, the database, other tenants)")
        twice = [sorted(v) for v in shown.delays.values() if len(v) > 1]
        if twice:
            notes.append(f"shown twice: first at {min(v[0] for v in twice):.1f}–{max(v[0] for v in twice):.1f} s, "
                         f"again at {min(v[1] for v in twice):.1f}–{max(v[1] for v in twice):.1f} s after due")
        if shown.other:
            notes.append(f"{shown.other} other messages were sent")
        injected = storm[1] if storm else 0
        return Figures(label, shown.delays, scenario, len(api.throttled) - injected, storm=storm is not None,
                       jobs_done=jobs_done, notes=notes)


# --- the baseline: a plain loop through PTB's AIORateLimiter ----------------------------------------


async def ptb_run(scenario: Scenario, texts: list[tuple[int, str]], label: str, retries: int,
                  storm: tuple[int, int], lanes: int) -> Figures:
    """The same messages sent by a plain loop through a PTB ``ExtBot`` with ``AIORateLimiter``: ``lanes``
    loops taking the next message from one list (all 10 000 at once would cost aiolimiter O(n²) CPU), the
    stormy chat answering 429 as in our run; timed from the first send like ours from the due instant.
    Stopped after 1.5 × the allowed time + 30 s: what is not sent by then counts as lost."""
    within = scenario.allowed_seconds() * 1.5 + 30
    async with FakeBotAPI(limits=scenario.limits) as api:
        scenario.register(api)
        api.inject_429(scenario.stormy.id, *storm)
        bot = _ptb_sender(api, scenario.limits.global_[0], retries)
        queue = iter(texts)
        failed = 0

        async def lane() -> None:
            nonlocal failed
            for chat, text in queue:
                try:
                    await bot.send_message(chat, text)
                except Exception:
                    failed += 1

        async with bot:
            shown = Shown(api, time.monotonic())
            loops = [asyncio.ensure_future(lane()) for _ in range(lanes)]
            _done, late = await asyncio.wait(loops, timeout=within)
            for task in late:
                task.cancel()
            await asyncio.gather(*loops, return_exceptions=True)
        shown.update()
        notes = [f"stopped after {within:.0f} s"] if late else []
        return Figures(label, shown.delays, scenario, len(api.throttled) - storm[1], storm=True, notes=notes)


# --- databases ------------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def databases(scenario: Scenario, backend: str, work: Path, admin: str | None, runs: int
                    ) -> AsyncIterator[tuple[list[str], float]]:
    """``runs`` databases holding the same events. SQLite: made once, copied; PostgreSQL: made in each."""
    async with FakeBotAPI() as api:
        scenario.register(api)
        if backend == "sqlite":
            template = work / "template" / "interlink.db"
            seconds = await create_events(scenario, api, template.parent, f"sqlite:///{template}")
            urls = []
            for i in range(runs):
                copy = work / f"db{i}" / "interlink.db"
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(template, copy)
                urls.append(f"sqlite:///{copy}")
            yield urls, seconds
            return
        assert admin is not None
        async with contextlib.AsyncExitStack() as stack:
            urls = [await stack.enter_async_context(postgres_database(admin)) for _ in range(runs)]
            seconds = 0.0
            for url in urls:
                seconds += await create_events(scenario, api, work / "template", url)
            yield urls, seconds / runs


# --- the report ---------------------------------------------------------------------------------------


async def bench(backend: str, args: argparse.Namespace, admin: str | None) -> None:
    limits = Limits(per_chat=(1, 1.0), per_group=(20, 60.0), global_=(args.global_rate, 1.0), enforce=True)
    scenario = Scenario(args.reminders, args.chats, limits)
    storm = (args.retry_after, max(1, math.ceil(args.throttled_for / args.retry_after)))
    print(f"{args.reminders} reminders due at one instant in {args.chats} groups "
          f"({args.reminders / args.chats:g} each), {backend}; the server enforces 1/s per chat, 20/min per group, "
          f"{args.global_rate}/s overall")
    print("   msg/s: reminders shown / seconds from due to the last (with a 429 chat: of the other chats), next to "
          "what the limits allow;\n   p50/p99/last: seconds from due until the chats but the first got theirs; chat 1: "
          "its last (the 429 chat);\n   dup/lost: (chat, reminder) shown twice / never; 429s: beyond the injected ones")

    def show(figures: Figures) -> None:
        print(figures.row())
        for note in figures.notes:
            print(f"      {note}")

    runs: dict[str, Figures] = {}
    kinds = [kind for kind in RUNS if kind in args.runs]
    with tempfile.TemporaryDirectory(prefix="reminders-bench-") as tmp:
        work = Path(tmp)
        async with contextlib.AsyncExitStack() as stack:
            if kinds:
                urls, setup = await stack.enter_async_context(databases(scenario, backend, work, admin, len(kinds)))
                print(f"   setup: events made through the Interlinker in {setup:.0f} s per database")
            print(HEADER)
            print(f"   {'allowed by the limits':<34}{scenario.allowed_rate():8.1f} {1:7.3f} {'':7} {'':7} "
                  f"{scenario.allowed_seconds():7.1f}")
            for kind, url in zip(kinds, urls if kinds else [], strict=True):
                runs[kind] = await run_worker(scenario, url, work, RUNS[kind].format(seconds=storm[0] * storm[1]),
                                              storm=storm if kind == "429" else None, restart=kind == "restart")
                show(runs[kind])
    if not args.skip_ptb:
        # Round robin over the chats (every chat's first reminder, then every second one, ...): the order that
        # spares a plain loop the per-chat limit, which AIORateLimiter does not apply to groups.
        texts = [(scenario.chat_id(c), f"Reminder: c{c}e{k} starts in 2 days.")
                 for k in range(scenario.per_chat(0)) for c in range(scenario.chats) if k < scenario.per_chat(c)]
        for retries in args.ptb_retries:
            name = "default" if retries == 0 else f"{retries} retries"
            try:
                show(await ptb_run(scenario, texts, f"PTB AIORateLimiter ({name})", retries, storm, args.ptb_lanes))
            except RuntimeError as exc:  # aiolimiter missing
                print(f"   PTB AIORateLimiter: not run ({exc})")
    verdict = []
    for figures in runs.values():
        if figures.label != RUNS["restart"]:
            ratio = figures.rate / figures.allowed
            verdict.append(f"{figures.label}: {ratio:.3f} of allowed ({'met' if ratio >= 0.95 else 'NOT met'})")
    if "clean" in runs and "429" in runs:
        clean, stormy = runs["clean"], runs["429"]
        later = stormy.others(1.0) - clean.others(1.0)
        verdict.append(f"the other chats' last reminder {later:+.1f} s with the 429 chat than without "
                       f"({later - stormy.first + clean.first:+.1f} s counted from each run's first reminder shown)")
    if "restart" in runs:
        verdict.append(f"after SIGKILL {runs['restart'].duplicates} duplicates, {runs['restart'].missing} missing of "
                       f"{len(scenario.expected())}")
    if verdict:
        print("   → " + "; ".join(verdict))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--reminders", type=int, default=10_000)
    parser.add_argument("--chats", type=int, default=2_000)
    parser.add_argument("--global-rate", type=int, default=100,
                        help="enforced messages/s overall (Telegram: 30); server and bot share the CPUs here")
    parser.add_argument("--retry-after", type=int, default=5, help="the stormy chat's retry_after (s)")
    parser.add_argument("--throttled-for", type=int, default=30, help="seconds the stormy chat answers 429")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"],
                        help=f"default: both when {POSTGRES_ENV} (or --postgres-url) is set, else sqlite")
    parser.add_argument("--postgres-url", help=f"an admin URL of a PostgreSQL server (default: ${POSTGRES_ENV})")
    parser.add_argument("--runs", type=lambda text: text.split(","), default=list(RUNS),
                        help=f"which of {','.join(RUNS)} (default: all)")
    parser.add_argument("--ptb-retries", type=lambda text: [int(n) for n in text.split(",")], default=[0, 3],
                        help="AIORateLimiter max_retries of each baseline run (default: 0,3; 0 is PTB's default)")
    parser.add_argument("--ptb-lanes", type=int, default=32, help="concurrent send loops of the PTB baseline")
    parser.add_argument("--skip-ptb", action="store_true", help="no python-telegram-bot baseline")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # each row as it is measured
    logging.basicConfig(level=logging.CRITICAL)  # the baselines log every lost message
    admin = postgres_admin_url(args.postgres_url)
    backends = {"sqlite": ["sqlite"], "postgres": ["postgres"], "both": ["sqlite", "postgres"],
                None: ["sqlite", "postgres"] if admin else ["sqlite"]}[args.db]
    if "postgres" in backends and not admin:
        parser.error(f"PostgreSQL needs --postgres-url or {POSTGRES_ENV}")
    for backend in backends:
        await bench(backend, args, admin)
        args.skip_ptb = True  # the baseline does not depend on our database


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
