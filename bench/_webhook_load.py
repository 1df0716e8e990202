"""Shared pieces of the webhook benchmarks (``webhook_bench.py``, ``workers_bench.py``).

Telegram's side of the webhook is played with the three-worker test's pieces (``Telegram`` builds the
updates, ``_spawn`` starts an ``interlink run`` worker, ``_ready`` waits for its ``/healthz``); this module
adds what a benchmark needs on top: a poll per group, a workload of button presses (and a few commands)
serialised before the clock starts, posting it with N requests in flight while timing each request, the
outside check that every reply reached the Bot API server, throw-away PostgreSQL databases, and CPU
seconds of a process read from ``/proc``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from tests.botapi import Chat, FakeBotAPI, User  # noqa: E402
from tests.conftest import POSTGRES_ENV, _create_pg_database, _drop_pg_database  # noqa: E402
from tests.telegram.test_three_workers import LIMITS, SECRET, Telegram, _ready, _spawn  # noqa: E402

__all__ = ["LIMITS", "POSTGRES_ENV", "SECRET", "Load", "MachineCPU", "Outgoing", "Scenario", "cpu_seconds", "log_tail",
           "postgres_admin_url", "postgres_database", "processes_cpu", "push", "ready", "spawn_worker", "stop_process"]

HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
_SHOWN_VOTES = re.compile(r"(\d+) votes? \(")  # the three-worker test reads the tally the same way


# --- timed posting --------------------------------------------------------------------------------


@dataclass
class Load:
    """One push: wall time from the first request to the last acknowledgement, and each acknowledged
    request's latency (a refused request is retried after 0.1 s, as Telegram would, and counted)."""

    elapsed: float
    latencies: list[float]
    statuses: Counter[int]

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    @property
    def refused(self) -> int:
        return sum(n for status, n in self.statuses.items() if not 200 <= status < 300)

    def summary(self) -> str:
        return (f"{self.rate:8.1f} updates/s   p50 {self.percentile(0.5) * 1000:7.1f} ms   "
                f"p99 {self.percentile(0.99) * 1000:7.1f} ms")


@dataclass(frozen=True)
class Outgoing:
    """One serialised update; for a button press, its callback query's id."""

    body: bytes
    query_id: str | None = None


async def push(url: str, updates: list[Outgoing], inflight: int,
               sending: Callable[[Outgoing], None] | None = None) -> Load:
    """POST every update to ``url`` with ``inflight`` requests open at any time; ``sending`` is called
    just before an update's first attempt."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    queue = iter(updates)
    connector = aiohttp.TCPConnector(limit=inflight)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as client:

        async def lane() -> None:
            for update in queue:
                body = update.body
                if sending is not None:
                    sending(update)
                while True:
                    started = time.perf_counter()
                    try:
                        async with client.post(url, data=body, headers=HEADERS) as response:
                            await response.read()
                            status = response.status
                    except (aiohttp.ClientError, TimeoutError):
                        status = 0
                    statuses[status] += 1
                    if 200 <= status < 300:
                        latencies.append(time.perf_counter() - started)
                        break
                    await asyncio.sleep(0.1)

        started = time.perf_counter()
        await asyncio.gather(*(lane() for _ in range(inflight)))
        elapsed = time.perf_counter() - started
    return Load(elapsed, latencies, statuses)


# --- the workload ---------------------------------------------------------------------------------


@dataclass
class Group:
    chat: Chat
    organiser: User
    message_id: int = 0
    payloads: list[str] = field(default_factory=list)
    votes: int = 0  # ballots its poll must show (each voter votes once)
    commands: int = 0  # chat messages owed besides the poll (one answer per command)


class Scenario:
    """Groups with a poll each; voters are distinct users (ids from ``first_user`` on), so every vote is a
    new ballot and the tally every group must finally show is known from outside."""

    def __init__(self, api: FakeBotAPI, url: str, groups: int, seed: int = 7) -> None:
        self.api = api
        self.url = url
        self.telegram = Telegram(api, 0)
        self.telegram.url = url
        self._next_user = 10_000_000
        self._random = random.Random(seed)
        self.groups: list[Group] = []
        self.presses = 0  # button presses built (each must have its callback query answered)
        for g in range(groups):
            organiser = api.user(9_000_000 + g, f"Org{g}")
            chat = api.group(-1_000_000_000 - g, f"Bench group {g}", [organiser], admins=[organiser])
            self.groups.append(Group(chat, organiser))

    def _user(self, chat: Chat) -> User:
        self._next_user += 1
        user = self.api.user(self._next_user, f"V{self._next_user}")
        chat.members.add(user.id)
        return user

    async def create_polls(self, options: int = 3) -> None:
        """Each group's organiser sends /poll; returns once every poll message with its buttons is shown."""
        labels = " | ".join(["Oak", "Pine", "Elm", "Ash", "Yew"][:options])
        polls = [Outgoing(json.dumps(self.telegram.message(g.organiser, g.chat, f"/poll Which bench? | {labels}"))
                          .encode()) for g in self.groups]
        await push(self.url, polls, min(8, len(polls)))
        for group in self.groups:
            await self.api.wait_for(self._poll_shown(group.chat.id), within=60)
            poll = next(s for s in self.api.sent_to(group.chat.id) if s.buttons)
            group.message_id = poll.message_id
            group.payloads = [data for row in poll.buttons for _label, data in row]

    def _poll_shown(self, chat_id: int) -> Callable[[], bool]:
        return lambda: any(s.buttons for s in self.api.sent_to(chat_id))

    def updates(self, count: int, commands: float = 0.0) -> list[Outgoing]:
        """``count`` updates spread round-robin over the groups: button presses by new users, and with
        probability ``commands`` a command instead (half ``/vote 1 k`` by a new user, half ``/results 1``
        by the organiser). Serialised now, so building them costs nothing while the clock runs; post them
        with ``sending=scenario.pressed`` so each press is as fresh as Telegram's would be."""
        bodies: list[Outgoing] = []
        for i in range(count):
            group = self.groups[i % len(self.groups)]
            option = self._random.randrange(len(group.payloads))
            kind = self._random.random()
            if kind < commands / 2:
                update = self.telegram.message(self._user(group.chat), group.chat, f"/vote 1 {option + 1}")
                group.votes += 1
                group.commands += 1
            elif kind < commands:
                update = self.telegram.message(group.organiser, group.chat, "/results 1")
                group.commands += 1
            else:
                update = self.telegram.press(self._user(group.chat), group.chat, group.message_id,
                                             group.payloads[option])
                group.votes += 1
                self.presses += 1
            query = update.get("callback_query")
            bodies.append(Outgoing(json.dumps(update).encode(), query["id"] if query else None))
        return bodies

    def pressed(self, update: Outgoing) -> None:
        """The user presses the button now: the Bot API server's 15 s answer deadline counts from here."""
        if update.query_id is not None:
            self.api._callbacks[update.query_id]["at"] = time.monotonic()

    def fake_polls(self, sign: Callable[[int, int], str], options: int = 3) -> None:
        """For a baseline without a bot: poll ``g + 1`` in group ``g``, shown as message 1 with buttons whose
        payloads ``sign(poll, position)`` makes, so its button presses look like those of a real poll."""
        for number, group in enumerate(self.groups, start=1):
            group.message_id = 1
            group.payloads = [sign(number, position) for position in range(1, options + 1)]
            keyboard = [[{"text": f"Option {p} (0)", "callback_data": data}] for p, data in enumerate(group.payloads)]
            self.api.messages[(group.chat.id, 1)] = {
                "message_id": 1, "date": int(time.time()), "chat": group.chat.to_json(),
                "from": self.api.bot_user.to_json(), "text": "Which bench?\n" + "\n".join(
                    f"{p}. Option {p} — 0 votes (0%)" for p in range(1, options + 1)),
                "reply_markup": {"inline_keyboard": keyboard},
            }

    # --- the outside check ------------------------------------------------------------------------

    def shown_votes(self, group: Group) -> int:
        shown = self.api.messages[(group.chat.id, group.message_id)]["text"]
        return sum(int(m) for m in _SHOWN_VOTES.findall(shown))

    def delivered(self) -> bool:
        """Every poll shows all its votes, and every command got its answer in the group."""
        messages = Counter(s.chat_id for s in self.api.sent if s.method == "sendMessage")
        return all(self.shown_votes(g) >= g.votes and messages[g.chat.id] >= 1 + g.commands for g in self.groups)

    async def wait_delivered(self, within: float) -> bool:
        deadline = time.monotonic() + within
        while not self.delivered():
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    def shortfall(self) -> str:
        messages = Counter(s.chat_id for s in self.api.sent if s.method == "sendMessage")
        return ", ".join(f"group {i}: shows {self.shown_votes(g)}/{g.votes} votes, "
                         f"{messages[g.chat.id] - 1}/{g.commands} answers" for i, g in enumerate(self.groups))


# --- processes and databases ----------------------------------------------------------------------


def spawn_worker(api: FakeBotAPI, state_dir: Path, db: str, port: int, webhook_port: int) -> subprocess.Popen[bytes]:
    """``interlink run`` in webhook mode (Telegram posts to ``webhook_port``: the worker, or a proxy)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    return _spawn(api, state_dir, db, port, webhook_port, state_dir / "worker.log")


async def ready(port: int, within: float = 60.0) -> None:
    await _ready(port, within)


async def stop_process(process: subprocess.Popen[bytes], within: float = 20.0) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        await asyncio.to_thread(process.wait, within)
    except subprocess.TimeoutExpired:
        process.kill()
        await asyncio.to_thread(process.wait)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process (Linux ``/proc``), 0.0 where unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def processes_cpu(name: str) -> float:
    """CPU seconds of every live process whose command name is ``name`` (e.g. the PostgreSQL server's
    processes, whoever their clients are); processes that exited in between are missed."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        command, _, rest = text.partition(" (")[2].rpartition(") ")
        if command == name:
            fields = rest.split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


class MachineCPU:
    """How busy all CPUs of the machine were between ``start()`` and ``busy()`` (``/proc/stat``), 0..1:
    everything counts, the client and Bot API server of the benchmark, PostgreSQL and other tenants too."""

    def __init__(self) -> None:
        self._start = self._read()

    @staticmethod
    def _read() -> tuple[int, int]:
        try:
            values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        except (OSError, ValueError, IndexError):
            return 0, 0
        return sum(values), values[3] + (values[4] if len(values) > 4 else 0)

    def busy(self) -> float:
        total, idle = self._read()
        elapsed = total - self._start[0]
        return 1 - (idle - self._start[1]) / elapsed if elapsed > 0 else 0.0


def postgres_admin_url(given: str | None) -> str | None:
    return given or os.environ.get(POSTGRES_ENV) or None


@contextlib.asynccontextmanager
async def postgres_database(admin: str) -> AsyncIterator[str]:
    """A fresh database on the server the tests use; its plain ``postgresql://`` URL, dropped after."""
    url, name = await _create_pg_database(admin)
    try:
        yield make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    finally:
        await _drop_pg_database(admin, name)


def log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
