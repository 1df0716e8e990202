"""Telegram webhook throughput (issue 8): our bot next to a bare aiohttp handler that commits the same vote.

Ours: the real ``interlink run`` process in webhook mode (one worker, SQLite or PostgreSQL), a poll in each
of ``--groups`` groups, then ``--updates`` button presses (callback_query updates carrying the poll's
signed payload, each from a new user, round-robin over the groups) POSTed with the secret-token header,
``--inflight`` requests open at a time, by an aiohttp client. A request is answered 200 once the vote is
committed; the bot answers each callback query and edits the polls through the local Bot API server
(``tests.botapi.FakeBotAPI``, which runs in this process next to the client).

Baseline, in the same run and on the same database kind: a bare aiohttp app (``bench/_bare_webhook.py``,
which imports nothing of the project), in its own process like ours, whose handler checks the secret
header, parses the same update JSON, checks the payload's HMAC and upserts one ballot row keyed by (poll,
voter) in its own transaction — stdlib sqlite3 in one thread (WAL, synchronous=NORMAL, as ours) or an
asyncpg pool (5-15 connections, as SQLAlchemy's default pool) — and answers 200. It does not answer the
callback query or edit anything.

Reported for each: updates/s, p50 and p99 latency of the webhook request, CPU seconds of the server
process per 1 000 updates; for ours also when every poll showed every vote. Goal: ours ≥ 0.5× bare.

Run: ``.venv/bin/python bench/webhook_bench.py [--updates 1500] [--inflight 32] [--groups 4]
[--backends sqlite,postgres]``. PostgreSQL: ``--postgres-url`` or ``INTERLINK_TEST_POSTGRES_URL`` (a
fresh database is created and dropped per run).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bare_webhook import BUTTON_SECRET, signer
from _webhook_load import (
    LIMITS,
    POSTGRES_ENV,
    SECRET,
    Load,
    MachineCPU,
    Outgoing,
    Scenario,
    cpu_seconds,
    log_tail,
    postgres_admin_url,
    postgres_database,
    processes_cpu,
    push,
    ready,
    spawn_worker,
    stop_process,
)

from tests.botapi import FakeBotAPI
from tests.net import free_port

BARE = Path(__file__).resolve().with_name("_bare_webhook.py")


# --- the driver -------------------------------------------------------------------------------------


@dataclass
class Result:
    load: Load
    cpu_per_1000: float
    machine_busy: float
    client_cpu_per_1000: float  # this process: the client, and for ours the Bot API server too
    postgres_cpu_per_1000: float  # the PostgreSQL server's processes (any client's)
    note: str = ""


@contextlib.asynccontextmanager
async def _database(backend: str, tmp: Path, admin: str | None, name: str) -> AsyncIterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp / name}"
        return
    assert admin is not None
    async with postgres_database(admin) as url:
        yield url


async def _measure(process: subprocess.Popen[bytes], scenario: Scenario, updates: list[Outgoing],
                   inflight: int) -> Result:
    cpu, own, pg, machine = cpu_seconds(process.pid), time.process_time(), processes_cpu("postgres"), MachineCPU()
    load = await push(scenario.url, updates, inflight, scenario.pressed)
    per_1000 = 1000 / len(updates)
    return Result(load, (cpu_seconds(process.pid) - cpu) * per_1000, machine.busy(),
                  (time.process_time() - own) * per_1000, (processes_cpu("postgres") - pg) * per_1000)


async def ours(backend: str, args: argparse.Namespace, admin: str | None) -> Result:
    async with FakeBotAPI(limits=LIMITS) as api:
        with tempfile.TemporaryDirectory() as tmp:
            async with _database(backend, Path(tmp), admin, "interlink.db") as db:
                port = free_port()
                state = Path(args.logs or tmp) / f"worker-{backend}"
                shutil.rmtree(state, ignore_errors=True)
                worker = spawn_worker(api, state, db, port, port)
                try:
                    await ready(port)
                    url = f"http://127.0.0.1:{port}/telegram/webhook"
                    scenario = Scenario(api, url, args.groups)
                    await scenario.create_polls()
                    await push(url, scenario.updates(args.warmup), args.inflight, scenario.pressed)
                    updates = scenario.updates(args.updates)
                    started = time.perf_counter()
                    result = await _measure(worker, scenario, updates, args.inflight)
                    shown = await scenario.wait_delivered(args.deliver_within)
                    after = time.perf_counter() - started
                    edits = sum(1 for s in api.sent if s.method == "editMessageText")
                    answered = len(api.answered)
                    result.note = (f"callback queries answered {answered}/{scenario.presses}; poll edits {edits}; "
                                   f"429s {len(api.throttled)}; " +
                                   (f"every poll showed every vote {after:.1f} s after the first request" if shown
                                    else f"NOT all shown within {args.deliver_within:.0f} s: {scenario.shortfall()}"))
                    if not shown:
                        print(f"   worker log:\n{log_tail(state / 'worker.log')}", file=sys.stderr)
                    if worker.poll() is not None:
                        result.note += f"; the worker exited ({worker.returncode})"
                    return result
                except BaseException:
                    print(f"   worker log:\n{log_tail(state / 'worker.log')}", file=sys.stderr)
                    raise
                finally:
                    await stop_process(worker)


def _start_bare(db: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:
        command = [sys.executable, str(BARE), "--db", db, "--port", str(port), "--webhook-secret", SECRET]
        return subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


async def bare(backend: str, args: argparse.Namespace, admin: str | None) -> Result:
    async with FakeBotAPI() as api:  # only builds the updates: the bare server never calls it
        with tempfile.TemporaryDirectory() as tmp:
            async with _database(backend, Path(tmp), admin, "bare.db") as db:
                port = free_port()
                log = Path(args.logs or tmp) / f"bare-{backend}.log"
                server = _start_bare(db, port, log)
                try:
                    await ready(port)
                    url = f"http://127.0.0.1:{port}/telegram/webhook"
                    scenario = Scenario(api, url, args.groups)
                    scenario.fake_polls(signer(BUTTON_SECRET))
                    await push(url, scenario.updates(args.warmup), args.inflight)
                    result = await _measure(server, scenario, scenario.updates(args.updates), args.inflight)
                    async with aiohttp.ClientSession() as client, client.get(f"http://127.0.0.1:{port}/count") as r:
                        stored = (await r.json())["ballots"]
                    expected = args.warmup + args.updates
                    result.note = f"ballots stored {stored}/{expected}"
                    return result
                except BaseException:
                    print(f"   bare server log:\n{log_tail(log)}", file=sys.stderr)
                    raise
                finally:
                    await stop_process(server)


def _lines(label: str, result: Result, backend: str) -> str:
    load = result.load
    postgres = f", PostgreSQL {result.postgres_cpu_per_1000:.2f} s" if backend == "postgres" else ""
    refused = f"; {load.refused} requests refused and retried" if load.refused else ""
    return (f"   {label:<34} {load.summary()}\n"
            f"      CPU per 1k updates: server {result.cpu_per_1000:.2f} s, client {result.client_cpu_per_1000:.2f} s"
            f"{postgres}; machine {result.machine_busy:.0%} busy{refused}\n      {result.note}")


async def main(args: argparse.Namespace) -> None:
    admin = postgres_admin_url(args.postgres_url)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    print(f"Telegram webhook: {args.updates} button presses (new user each) over {args.groups} group(s), "
          f"{args.inflight} requests in flight, after {args.warmup} warm-up presses; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    for backend in backends:
        if backend == "postgres" and admin is None:
            print(f"\n[postgres] skipped: set {POSTGRES_ENV} or --postgres-url")
            continue
        if backend not in ("sqlite", "postgres"):
            raise SystemExit(f"unknown backend {backend!r} (sqlite, postgres)")
        baseline = await bare(backend, args, admin)
        result = await ours(backend, args, admin)
        print(f"\n[{backend}]")
        print(_lines("bare aiohttp + raw SQL upsert:", baseline, backend))
        print(_lines("Interlink (interlink run):", result, backend))
        ratio = result.load.rate / baseline.load.rate
        verdict = "met" if ratio >= 0.5 else "NOT met"
        print(f"   ours / bare: {ratio:.2f}× updates/s (goal ≥ 0.5: {verdict}); p50 "
              f"{result.load.percentile(0.5) / baseline.load.percentile(0.5):.1f}×, p99 "
              f"{result.load.percentile(0.99) / baseline.load.percentile(0.99):.1f}× the bare latency")
    print("\nCPU per 1k updates, during the timed push: of the server process; of this one (the client, and for "
          "ours the Bot API server); of the PostgreSQL server (all its processes).")
    print("Issue 8 figure before the rewrite: 124 updates/s, p50 174 ms, p99 up to 2 s (32 in flight). "
          "Client, Bot API server, bot and database share this machine's CPUs.")


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--updates", type=int, default=1500, help="timed button presses per run")
    parser.add_argument("--warmup", type=int, default=100, help="untimed button presses first")
    parser.add_argument("--inflight", type=int, default=32)
    parser.add_argument("--groups", type=int, default=4)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--postgres-url", help=f"admin URL of a PostgreSQL server (default: ${POSTGRES_ENV})")
    parser.add_argument("--deliver-within", type=float, default=60.0,
                        help="seconds to wait for every poll to show every vote")
    parser.add_argument("--logs", help="keep the servers' logs (and the bot's state directory) in this directory")
    args = parser.parse_args()
    if args.logs:
        Path(args.logs).mkdir(parents=True, exist_ok=True)
    return args


if __name__ == "__main__":
    arguments = _parse()
    logging.basicConfig(level=logging.CRITICAL)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(arguments))
