"""Updates/s with 1, 2 and 3 ``interlink run`` workers on one PostgreSQL (issue 8: "report the curve").

For each worker count: a fresh database, the workers (separate processes, Telegram webhook mode, started
with the three-worker test's ``_spawn``: the first one alone, so it migrates and takes the send lease)
behind that test's round-robin ``RoundRobin`` proxy, which runs in a process of its own like nginx would.
A poll in each of ``--groups`` groups, then ``--updates`` updates posted to the proxy with ``--inflight``
requests open: button presses by new users, and a share ``--commands`` of commands (half ``/vote 1 k`` by
a new user, half ``/results 1`` by the organiser). The local Bot API server (``tests.botapi.FakeBotAPI``)
enforces the limits the workers are configured with (30/s per chat, 120/min per group, 150/s overall).

Reported per worker count: updates/s (first request to last acknowledgement), p50/p99 latency of the
webhook request through the proxy, the time until every reply was delivered (every poll shows every vote,
every command has its answer in the group; replies are sent by the one worker holding ``send:telegram``),
each worker's CPU seconds during the push, and how busy the machine's CPUs were. Client, Bot API server,
proxy, workers and PostgreSQL share this machine: with 2 cores the curve is bounded by the machine.

Run: ``.venv/bin/python bench/workers_bench.py [--workers 1,2,3] [--updates 1200] [--inflight 64]
[--groups 10] [--commands 0.05]``. PostgreSQL: ``--postgres-url`` or ``INTERLINK_TEST_POSTGRES_URL``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _webhook_load import (
    LIMITS,
    POSTGRES_ENV,
    Load,
    MachineCPU,
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
from tests.telegram.test_three_workers import RoundRobin

HERE = Path(__file__).resolve()


# --- the proxy process --------------------------------------------------------------------------------


async def serve_proxy(ports: list[int]) -> None:
    """The three-worker test's round-robin proxy; prints its port, runs until SIGTERM."""
    proxy = RoundRobin(ports)
    await proxy.start()
    print(proxy.port, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await proxy.stop()


def _start_proxy(ports: list[int], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as errors:
        return subprocess.Popen([sys.executable, str(HERE), "--proxy", ",".join(map(str, ports))],
                                stdout=subprocess.PIPE, stderr=errors, stdin=subprocess.DEVNULL)


# --- one worker count -----------------------------------------------------------------------------------


@dataclass
class Run:
    workers: int
    load: Load
    delivered_after: float | None  # seconds from the first request until every reply was shown
    worker_cpu: list[float]  # seconds each worker spent on the CPU during the push
    machine_busy: float
    notes: list[str]


def _fresh(directory: Path) -> Path:
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    return directory


async def run(count: int, args: argparse.Namespace, admin: str, logs: Path) -> Run:
    async with FakeBotAPI(limits=LIMITS) as api, postgres_database(admin) as db:
        ports = [free_port() for _ in range(count)]
        proxy = _start_proxy(ports, logs / "proxy.log")
        workers: list[subprocess.Popen[bytes]] = []
        try:
            assert proxy.stdout is not None
            line = await asyncio.wait_for(asyncio.to_thread(proxy.stdout.readline), 30)
            if not line.strip():
                raise RuntimeError(f"the proxy did not start:\n{log_tail(logs / 'proxy.log')}")
            proxy_port = int(line)
            url = f"http://127.0.0.1:{proxy_port}/telegram/webhook"
            # The first worker alone: it migrates the database and takes the send lease.
            workers.append(spawn_worker(api, logs / "w0", db, ports[0], proxy_port))
            await ready(ports[0])
            workers += [spawn_worker(api, logs / f"w{i}", db, ports[i], proxy_port) for i in range(1, count)]
            for port in ports[1:]:
                await ready(port)

            scenario = Scenario(api, url, args.groups)
            await scenario.create_polls()
            await push(url, scenario.updates(args.warmup), args.inflight, scenario.pressed)
            await scenario.wait_delivered(args.deliver_within)  # start the clock on a quiet system
            bodies = scenario.updates(args.updates, commands=args.commands)
            cpu_before = [cpu_seconds(w.pid) for w in workers]
            proxy_before, own_before, pg_before = cpu_seconds(proxy.pid), time.process_time(), processes_cpu("postgres")
            machine = MachineCPU()
            started = time.perf_counter()
            load = await push(url, bodies, args.inflight, scenario.pressed)
            busy = machine.busy()
            proxy_cpu, own_cpu = cpu_seconds(proxy.pid) - proxy_before, time.process_time() - own_before
            pg_cpu = processes_cpu("postgres") - pg_before
            worker_cpu = [cpu_seconds(w.pid) - before for w, before in zip(workers, cpu_before, strict=True)]
            shown = await scenario.wait_delivered(args.deliver_within)
            delivered_after = time.perf_counter() - started if shown else None

            notes = [f"CPU s during the push: proxy {proxy_cpu:.1f}, client + Bot API server {own_cpu:.1f}, "
                     f"PostgreSQL server {pg_cpu:.1f}"]
            if not shown:
                notes.append(f"not every reply shown within {args.deliver_within:.0f} s: {scenario.shortfall()}")
            answered = len(api.answered)
            if answered < scenario.presses:
                notes.append(f"callback queries answered {answered}/{scenario.presses}")
            if api.throttled:
                notes.append(f"{len(api.throttled)} 429s from the Bot API server")
            holders = [i for i in range(count) if "lease send:telegram: taken" in _log(logs, i)]
            notes.append(f"send lease held by worker(s) {holders}")
            for i, worker in enumerate(workers):
                text = _log(logs, i)
                problems = text.count(" ERROR ") + text.count("Traceback")
                if worker.poll() is not None:
                    notes.append(f"worker {i} exited ({worker.returncode})")
                if problems:
                    notes.append(f"worker {i} logged {problems} errors (see --logs)")
            return Run(count, load, delivered_after, worker_cpu, busy, notes)
        except BaseException:
            for i in range(len(workers)):
                print(f"   worker {i} log:\n{log_tail(logs / f'w{i}' / 'worker.log')}", file=sys.stderr)
            raise
        finally:
            await asyncio.gather(*(stop_process(w) for w in workers))
            await stop_process(proxy)
            if proxy.stdout is not None:
                proxy.stdout.close()


def _log(logs: Path, worker: int) -> str:
    try:
        return (logs / f"w{worker}" / "worker.log").read_text(errors="replace")
    except OSError:
        return ""


# --- the driver -------------------------------------------------------------------------------------


async def main(args: argparse.Namespace) -> None:
    admin = postgres_admin_url(args.postgres_url)
    if admin is None:
        raise SystemExit(f"this benchmark needs PostgreSQL: set {POSTGRES_ENV} or --postgres-url")
    counts = [int(n) for n in args.workers.split(",")]
    print(f"interlink run workers on one PostgreSQL, webhook mode, behind a round-robin proxy: {args.updates} "
          f"updates ({args.commands:.0%} commands, the rest button presses by new users) over {args.groups} "
          f"groups, {args.inflight} requests in flight, after {args.warmup} warm-up presses")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} before the first run; "
          "Bot API limits enforced: 30/s per chat, 120/min per group, 150/s overall\n")
    print(f"   {'workers':>7}  {'updates/s':>9}  {'vs 1':>5}  {'p50 ms':>7}  {'p99 ms':>7}  {'replies':>9}  "
          f"{'worker CPU s during push':<26}  machine")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.logs or tmp)
        runs: list[Run] = []
        for count in counts:
            result = await run(count, args, admin, _fresh(root / f"{count}-workers"))
            runs.append(result)
            load = result.load
            base = runs[0].load.rate
            replies = f"{result.delivered_after:8.1f}s" if result.delivered_after is not None else "   never"
            cpu = " ".join(f"{c:5.1f}" for c in result.worker_cpu)
            print(f"   {count:>7}  {load.rate:9.1f}  {load.rate / base:4.2f}×  {load.percentile(0.5) * 1000:7.0f}  "
                  f"{load.percentile(0.99) * 1000:7.0f}  {replies:>9}  {cpu:<26}  {result.machine_busy:4.0%} busy")
            if load.refused:
                result.notes.insert(0, f"{load.refused} requests refused by the proxy/worker and retried")
            print(f"            {'; '.join(result.notes)}")
    print("\n   replies = from the first timed request until every poll showed every vote and every command had "
          "its answer\n   (sent by the one worker holding send:telegram, within the Bot API limits above).")
    print("   Issue 8 goal: report the curve. On this 2-core machine the client, the Bot API server, the proxy, "
          "the workers\n   and PostgreSQL compete for the same CPUs: a flat curve at a busy machine means the "
          "machine, not one worker, is the limit.")


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--workers", default="1,2,3", help="worker counts to run, in order")
    parser.add_argument("--updates", type=int, default=1200, help="timed updates per worker count")
    parser.add_argument("--warmup", type=int, default=100, help="untimed button presses first")
    parser.add_argument("--inflight", type=int, default=64)
    parser.add_argument("--groups", type=int, default=10)
    parser.add_argument("--commands", type=float, default=0.05, help="share of updates that are commands")
    parser.add_argument("--postgres-url", help=f"admin URL of a PostgreSQL server (default: ${POSTGRES_ENV})")
    parser.add_argument("--deliver-within", type=float, default=90.0,
                        help="seconds to wait for every reply to be shown")
    parser.add_argument("--logs", help="keep each run's worker logs and state directories in this directory")
    parser.add_argument("--proxy", help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    arguments = _parse()
    logging.basicConfig(level=logging.CRITICAL)
    with contextlib.suppress(KeyboardInterrupt):
        if arguments.proxy:
            asyncio.run(serve_proxy([int(p) for p in arguments.proxy.split(",")]))
        else:
            asyncio.run(main(arguments))
