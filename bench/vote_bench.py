"""What one vote costs the core, on SQLite and PostgreSQL, next to a baseline commit in the same run.

The core (dispatcher, polls Interlinker, sender) runs in-process behind a network that accepts every
message at once, so what is measured is our code and the store, not a chat network. For each backend and
each code tree (``--baseline``, default: main before the vote path was rewritten, and this tree):

- per-vote CPU time of the bot process (all threads) and wall time, new voters pressing a button one
  after another in one group, until every reply has been handed to the network;
- the same with the poll already holding ``--big`` ballots (flat cost: the tally must not be recounted);
- ``/results`` and ``/close`` on that big poll next to a raw ``GROUP BY`` over its ballots.

Each tree runs in its own subprocess (``sys.path`` points at that tree). Run:
``.venv/bin/python bench/vote_bench.py [--votes 1000] [--big 1000000] [--backends sqlite,postgres]``.
PostgreSQL: ``INTERLINK_TEST_POSTGRES_URL`` (as for the tests), else a throw-away cluster when the server
binaries are installed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
ROOT = HERE.parents[1]
DEFAULT_BASELINE = "72724e4"  # main after "Nothing lost, nothing twice", before this rewrite


# --- the worker: runs inside one code tree -----------------------------------------------------------


async def _worker(args: argparse.Namespace) -> dict[str, Any]:
    from sqlalchemy import text

    from bot.adapter import Adapter, Capabilities
    from bot.app import App
    from bot.config import load_settings
    from bot.events import ButtonPress, ChatRef, Command, Update, UserRef

    class Network(Adapter):
        """Accepts every message at once (the chat network is not what is measured)."""

        platform = "bench"
        capabilities = Capabilities(buttons=True, edits=True, native_polls=False, markup=False)
        waits_for_replies = False

        def __init__(self) -> None:
            self.sent: list[Any] = []
            self.count = 0

        async def start(self, core: Any) -> None:
            return None

        async def stop(self) -> None:
            return None

        async def send(self, chat: ChatRef, message: Any) -> str | None:
            self.count += 1
            if getattr(message, "buttons", None):
                self.sent.append(message)
            return str(self.count)

    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{tmp}/bench.db"
        settings = load_settings(environ={"INTERLINK_DATABASE_URL": url, "INTERLINK_STATE_DIR": tmp,
                                          "INTERLINK_SECRET": "bench-secret-0123456789"})
        network = Network()
        app = App(settings, adapters=[network], http=False)
        await app.start()
        chat = ChatRef("bench", "-100", title="Bench group")
        serial = iter(range(1, 10**9))
        result: dict[str, Any] = {}

        def update(user: int, event: Any) -> Update:
            return Update(f"u{next(serial)}", chat, UserRef("bench", str(user), f"Voter {user}", "en"), event)

        async def drained() -> None:
            while True:
                async with app.sessions() as session:
                    left = await session.scalar(text("SELECT count(*) FROM pending_replies"))
                if not left:
                    return
                await asyncio.sleep(0.005)

        async def new_poll(number: int) -> tuple[str, ...]:
            await app.handle(update(1, Command("poll", f"Bench {number}? | Oak | Pine | Elm")))
            await drained()
            return tuple(button.payload for button in network.sent[-1].buttons)

        async def vote_run(payloads: tuple[str, ...], votes: int, first_user: int) -> tuple[float, float]:
            sent_before = network.count
            cpu, wall = time.process_time(), time.perf_counter()
            for i in range(votes):
                await app.handle(update(first_user + i, ButtonPress(payloads[i % len(payloads)])))
                await asyncio.sleep(0)  # the loop's turn, as between a network's updates: the sender runs
            await drained()
            result["messages_per_vote"] = (network.count - sent_before) / votes  # answers, and edits not coalesced
            return (time.process_time() - cpu) / votes * 1000, (time.perf_counter() - wall) / votes * 1000

        warm = await new_poll(0)
        await vote_run(warm, 50, 10_000_000)  # caches, connections, statement caches
        small = await new_poll(1)
        await vote_run(small, 1000, 20_000_000)  # the poll holds 1 000 ballots
        result["cpu_ms"], result["wall_ms"] = await vote_run(small, args.votes, 30_000_000)
        result["small_messages_per_vote"] = result["messages_per_vote"]

        big = await new_poll(2)
        async with app.sessions() as session:
            poll_id = await session.scalar(text("SELECT max(id) FROM polls"))
            number = await session.scalar(text("SELECT number FROM polls WHERE id = :id"), {"id": poll_id})
        await _seed(app, int(poll_id), args.big)
        big_votes = min(args.votes, args.big_votes)
        result["big_cpu_ms"], result["big_wall_ms"] = await vote_run(big, big_votes, 40_000_000)

        raw = text("SELECT position, count(*) FROM poll_ballots WHERE poll_id = :id AND superseded_at IS NULL "
                   "GROUP BY position")
        raw_times, results_times = [], []
        for _ in range(5):
            started = time.perf_counter()
            async with app.sessions() as session:
                (await session.execute(raw, {"id": poll_id})).all()
            raw_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            await app.handle(update(1, Command("results", str(number))))
            results_times.append(time.perf_counter() - started)
        await drained()
        started = time.perf_counter()
        await app.handle(update(1, Command("close", str(number))))
        result["close_ms"] = (time.perf_counter() - started) * 1000
        result["raw_group_by_ms"] = statistics.median(raw_times) * 1000
        result["results_ms"] = statistics.median(results_times) * 1000
        await drained()
        await app.stop()
        return result


async def _seed(app: Any, poll_id: int, ballots: int) -> None:
    """``ballots`` current ballots in ``poll_id``, written with raw SQL (a million votes through the bot
    would take the whole run); a store that keeps running counts is brought in line with them."""
    from sqlalchemy import text

    async with app.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text(
                "INSERT INTO poll_ballots (poll_id, position, voter_key, cast_at) "
                "SELECT :poll, 1 + g % 3, 'seed:' || g, now() FROM generate_series(1, :n) AS g"
            ), {"poll": poll_id, "n": ballots})
        else:
            rows = ({"poll": poll_id, "position": 1 + g % 3, "key": f"seed:{g}"} for g in range(ballots))
            statement = text("INSERT INTO poll_ballots (poll_id, position, voter_key, cast_at) "
                             "VALUES (:poll, :position, :key, CURRENT_TIMESTAMP)")
            batch: list[dict[str, Any]] = []
            for row in rows:
                batch.append(row)
                if len(batch) == 50_000:
                    await conn.execute(statement, batch)
                    batch = []
            if batch:
                await conn.execute(statement, batch)
        tables = await conn.run_sync(lambda sync: set(__import__("sqlalchemy").inspect(sync).get_table_names()))
        if "poll_counts" in tables:
            await conn.execute(text("DELETE FROM poll_counts WHERE poll_id = :poll"), {"poll": poll_id})
            await conn.execute(text(
                "INSERT INTO poll_counts (poll_id, position, votes) SELECT poll_id, position, count(*) "
                "FROM poll_ballots WHERE poll_id = :poll AND superseded_at IS NULL GROUP BY poll_id, position"
            ), {"poll": poll_id})
        if conn.dialect.name == "postgresql":
            await conn.execute(text("ANALYZE poll_ballots"))


# --- the driver ------------------------------------------------------------------------------------------


def _tree(rev: str) -> Path:
    """A checkout of ``rev`` next to this one (kept between runs), with its catalogs compiled."""
    sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", rev], check=True,
                         capture_output=True, text=True).stdout.strip()
    path = Path(tempfile.gettempdir()) / f"interlink-bench-{sha}"
    if not path.exists():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-f", str(path), sha], check=True,
                       capture_output=True)
    if not any(path.glob("locales/*/LC_MESSAGES/messages.mo")):
        subprocess.run([sys.executable, "-m", "babel.messages.frontend", "compile", "-d", str(path / "locales"),
                        "-D", "messages"], check=True, capture_output=True)
    return path


@contextlib.contextmanager
def _postgres() -> Iterator[str]:
    """A fresh database per run on the server the tests use."""
    base = os.environ.get("INTERLINK_TEST_POSTGRES_URL")
    if not base:
        raise SystemExit("PostgreSQL figures need INTERLINK_TEST_POSTGRES_URL (see tests/conftest.py)")
    import asyncpg  # type: ignore[import-untyped]

    name = f"bench_{uuid.uuid4().hex[:8]}"

    async def admin(sql: str) -> None:
        connection = await asyncpg.connect(base)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(admin(f"CREATE DATABASE {name}"))
    try:
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        asyncio.run(admin(f"DROP DATABASE {name} WITH (FORCE)"))


def _run(tree: Path, url: str | None, args: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, str(HERE), "--worker", "--tree", str(tree), "--votes", str(args.votes),
               "--big", str(args.big), "--big-votes", str(args.big_votes)]
    if url:
        command += ["--url", url]
    done = subprocess.run(command, cwd=tree, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"bench worker failed in {tree}:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--votes", type=int, default=1000)
    parser.add_argument("--big", type=int, default=1_000_000, help="ballots already in the big poll")
    parser.add_argument("--big-votes", type=int, default=100, help="votes timed on the big poll")
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help="git revision to compare with")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tree", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        sys.path.insert(0, args.tree)
        import logging

        logging.basicConfig(level=logging.ERROR)
        print(json.dumps(asyncio.run(_worker(args))))
        return

    trees = [("baseline " + args.baseline, _tree(args.baseline)), ("this tree", ROOT)]
    print(f"Vote cost in the core: {args.votes} new voters, one group; big poll: {args.big:,} ballots")
    for backend in args.backends.split(","):
        figures = []
        for label, tree in trees:
            with contextlib.ExitStack() as stack:
                url = stack.enter_context(_postgres()) if backend == "postgres" else None
                figures.append((label, _run(tree, url, args)))
        (_, old), (_, new) = figures
        print(f"\n[{backend}]                         {'baseline':>12} {'this tree':>12}   ratio")
        rows = [
            ("CPU per vote (ms), 1k ballots", "cpu_ms"),
            ("wall per vote (ms), 1k ballots", "wall_ms"),
            (f"CPU per vote (ms), {args.big:,}", "big_cpu_ms"),
            (f"wall per vote (ms), {args.big:,}", "big_wall_ms"),
            ("raw GROUP BY (ms)", "raw_group_by_ms"),
            ("/results (ms)", "results_ms"),
            ("/close (ms)", "close_ms"),
        ]
        for title, key in rows:
            print(f"  {title:<32} {old[key]:12.2f} {new[key]:12.2f}   {old[key] / new[key]:5.1f}× lower")
        print(f"  {'messages to the network per vote':<32} {old['small_messages_per_vote']:12.2f} "
              f"{new['small_messages_per_vote']:12.2f}   (a button's answer, and the poll's edit unless coalesced)")
        print(f"  goal: per vote ≥ 5× lower; flat: {new['big_wall_ms'] / new['wall_ms']:.2f}× from 1k to "
              f"{args.big:,} ballots; /results {new['results_ms'] / new['raw_group_by_ms']:.2f}× and /close "
              f"{new['close_ms'] / new['raw_group_by_ms']:.2f}× a raw GROUP BY (goal ≤ 2)")


if __name__ == "__main__":
    main()
