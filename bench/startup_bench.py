"""Start-up time and idle memory of ``interlink run`` (Telegram, SQLite), each next to its baseline.

1. Start-up: wall time from spawning ``.venv/bin/interlink run`` until its first ``getUpdates`` reaches our
   local Bot API server (the bot is ready), as a warm restart (schema already current: the common case) and
   as a cold first start (migrations included). Baseline A: a fresh ``python -c "import ..."`` of the
   dependencies this configuration needs (goal: warm restart ≤ 1.5× A).
2. Resident memory (VmRSS) at idle, ~2 s after ready, next to baseline B: a bare python-telegram-bot bot
   (``bench/bare_ptb_bot.py``) long polling the same server (goal ≤ 1.5× B).

The Bot API server runs in this process; every bot is a subprocess. Rounds are interleaved (A, B, cold,
warm, then again) so that noise from a shared machine falls on every figure alike; each figure is the
median of ``--runs``, with its spread.

Run: ``.venv/bin/python bench/startup_bench.py [--runs 5] [--idle 2]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.botapi import FakeBotAPI

HERE = Path(__file__).resolve()
PYTHON = Path(sys.executable)
INTERLINK = PYTHON.with_name("interlink")
BARE_BOT = HERE.with_name("bare_ptb_bot.py")
# pyproject.toml's run-time dependencies (aiohttp, sqlalchemy[asyncio], alembic, babel) and the telegram extra
# (python-telegram-bot), as the modules a Telegram + SQLite configuration needs of them.
DEPENDENCIES = ("telegram.ext", "sqlalchemy.ext.asyncio", "sqlalchemy.dialects.sqlite", "aiohttp.web", "babel",
                "alembic")
# What ``interlink run`` with Telegram on SQLite cannot do without, imported and nothing else: the floor of its
# memory whatever our own code does.
LIBRARIES = ("telegram", "sqlalchemy.orm", "sqlalchemy.ext.asyncio", "sqlalchemy.dialects.sqlite", "aiohttp.web",
             "babel.dates", "babel.numbers")
MIB = 1024 * 1024


class _Server(FakeBotAPI):
    """Notes when the first ``getUpdates`` arrives: from then on the bot takes updates."""

    def __init__(self) -> None:
        super().__init__()
        self.ready = asyncio.Event()
        self.ready_at = 0.0

    async def _m_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if not self.ready.is_set():
            self.ready_at = time.perf_counter()
            self.ready.set()
        return await super()._m_getUpdates(params)


@dataclass
class Run:
    ready: float  # seconds from spawn to the first getUpdates
    rss: float | None = None  # MiB at idle
    peak: float | None = None  # MiB, the most resident so far (VmHWM)


Command = Callable[[FakeBotAPI], tuple[list[str], dict[str, str]]]


def _status(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of a process, in MiB."""
    found: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) * 1024 / MIB
    return found


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else "(no output)"


async def _stop(process: asyncio.subprocess.Process, log: Path) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise RuntimeError(f"{log.name}: did not stop within 30 s after SIGTERM\n{_tail(log)}") from None
    if process.returncode != 0:
        raise RuntimeError(f"{log.name}: exit status {process.returncode}\n{_tail(log)}")


async def run_bot(command: Command, log: Path, idle: float | None, within: float = 60.0) -> Run:
    """Spawn a bot against a fresh server; time it until ready, then (``idle``) read its memory; stop it."""
    server = _Server()
    async with server:
        argv, env = command(server)
        with log.open("wb") as out:
            started = time.perf_counter()
            process = await asyncio.create_subprocess_exec(*argv, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                                           stderr=subprocess.STDOUT)
        try:
            ready = asyncio.ensure_future(server.ready.wait())
            exited = asyncio.ensure_future(process.wait())
            await asyncio.wait({ready, exited}, timeout=within, return_when=asyncio.FIRST_COMPLETED)
            exited.cancel()
            ready.cancel()
            if not server.ready.is_set():
                raise RuntimeError(f"{log.name}: not ready within {within} s (status {process.returncode})\n"
                                   f"{_tail(log)}")
            run = Run(server.ready_at - started)
            if idle is not None:
                await asyncio.sleep(idle)
                status = _status(process.pid)
                run.rss, run.peak = status["VmRSS"], status["VmHWM"]
        finally:
            await _stop(process, log)
        return run


async def time_command(argv: list[str]) -> float:
    """Wall time of a process from spawn to exit."""
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(*argv, stdin=subprocess.DEVNULL)
    if await process.wait() != 0:
        raise RuntimeError(f"{argv} failed with status {process.returncode}")
    return time.perf_counter() - started


async def imported_rss(modules: tuple[str, ...]) -> float:
    """VmRSS (MiB) of a fresh interpreter that imported ``modules``."""
    code = (f"import {', '.join(modules)}\n"
            "print(next(line.split()[1] for line in open('/proc/self/status') if line.startswith('VmRSS:')))")
    process = await asyncio.create_subprocess_exec(str(PYTHON), "-c", code, stdout=subprocess.PIPE)
    out, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"importing {modules} failed")
    return int(out) * 1024 / MIB


def interlink(state_dir: Path) -> Command:
    """``interlink run`` as an operator starts it: a token, the API URL, a state dir (SQLite in it)."""

    def command(server: FakeBotAPI) -> tuple[list[str], dict[str, str]]:
        state_dir.mkdir(parents=True, exist_ok=True)
        (state_dir / "none.toml").write_text("")
        env = {k: v for k, v in os.environ.items() if not k.startswith("INTERLINK_")}
        env.update({
            "INTERLINK_TELEGRAM_TOKEN": server.token,
            "INTERLINK_TELEGRAM_API_URL": server.url,
            "INTERLINK_STATE_DIR": str(state_dir),
            "INTERLINK_DATABASE_URL": f"sqlite:///{state_dir / 'interlink.db'}",
            "INTERLINK_CONFIG": str(state_dir / "none.toml"),  # never a stray interlink.toml
            "INTERLINK_HTTP_PORT": "0",
        })
        return [str(INTERLINK), "run"], env

    return command


def bare_bot(server: FakeBotAPI) -> tuple[list[str], dict[str, str]]:
    return [str(PYTHON), str(BARE_BOT), server.url, server.token], dict(os.environ)


def _figure(values: list[float], unit: str, digits: int = 2) -> str:
    median = statistics.median(values)
    spread = f"{min(values):.{digits}f}–{max(values):.{digits}f}" if len(values) > 1 else "one run"
    return f"{median:7.{digits}f} {unit}  ({spread})"


def _ratio(ours: list[float], base: list[float], name: str, goal: float | None = None) -> str:
    ratio = statistics.median(ours) / statistics.median(base)
    if goal is None:
        return f"{ratio:.2f}× {name}"
    return f"{ratio:.2f}× {name} (goal ≤ {goal}: {'met' if ratio <= goal else 'NOT met'})"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5, help="rounds; each figure is their median")
    parser.add_argument("--idle", type=float, default=2.0, help="seconds after ready before memory is read")
    parser.add_argument("--keep", action="store_true", help="keep the state dirs and logs (printed)")
    args = parser.parse_args()

    imports = "import " + ", ".join(DEPENDENCIES)
    tmp = Path(tempfile.mkdtemp(prefix="startup-bench-"))
    results: dict[str, list[Run]] = {"bare": [], "cold": [], "warm": []}
    interpreter: list[float] = []
    deps: list[float] = []
    floor: list[float] = []
    print(f"interlink run (Telegram, SQLite) against a local Bot API server: median of {args.runs} rounds "
          "(min–max)")
    print(f"baseline A imports: {', '.join(DEPENDENCIES)}")
    print("   (pyproject.toml: aiohttp, sqlalchemy[asyncio], alembic, babel; extra telegram: python-telegram-bot)")
    try:
        # Unmeasured: fills the page cache and compiles what is stale, for every figure alike.
        await time_command([str(PYTHON), "-c", imports + ", bot.cli, adapters.telegram._adapter"])
        for round_ in range(args.runs):
            interpreter.append(await time_command([str(PYTHON), "-c", "pass"]))
            deps.append(await time_command([str(PYTHON), "-c", imports]))
            floor.append(await imported_rss(LIBRARIES))
            results["bare"].append(await run_bot(bare_bot, tmp / f"bare-{round_}.log", args.idle))
            state = tmp / f"state-{round_}"
            results["cold"].append(await run_bot(interlink(state), tmp / f"cold-{round_}.log", None))
            results["warm"].append(await run_bot(interlink(state), tmp / f"warm-{round_}.log", args.idle))
    finally:
        if args.keep:
            print(f"state dirs and logs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    bare, cold, warm = ([r.ready for r in results[k]] for k in ("bare", "cold", "warm"))
    print("1. start-up: spawn → ready (the first getUpdates reaches the server)")
    print(f"   python -c pass (the interpreter):        {_figure(interpreter, 's')}")
    print(f"   A: python -c \"import <dependencies>\":   {_figure(deps, 's')}")
    print(f"   bare PTB bot, ready:                     {_figure(bare, 's')} = {_ratio(bare, deps, 'A')}")
    print(f"   interlink run, warm restart:             {_figure(warm, 's')} = {_ratio(warm, deps, 'A', 1.5)}")
    print(f"   interlink run, cold first start:         {_figure(cold, 's')} = {_ratio(cold, deps, 'A')} "
          "(migrations included)")
    bare_rss = [r.rss for r in results["bare"] if r.rss is not None]
    warm_rss = [r.rss for r in results["warm"] if r.rss is not None]
    print(f"2. resident memory (VmRSS) {args.idle:g} s after ready, no traffic")
    print(f"   B: bare PTB bot:                         {_figure(bare_rss, 'MiB', 1)}")
    print(f"   interlink run (warm restart):            {_figure(warm_rss, 'MiB', 1)} = "
          f"{_ratio(warm_rss, bare_rss, 'B', 1.5)}")
    print(f"   libraries alone, none of our code:       {_figure(floor, 'MiB', 1)} = {_ratio(floor, bare_rss, 'B')}: "
          "the floor")
    print(f"      ({', '.join(LIBRARIES)})")
    peaks = {k: [r.peak for r in results[k] if r.peak is not None] for k in ("bare", "warm")}
    print(f"   peak during start-up (VmHWM): bare PTB {statistics.median(peaks['bare']):.1f} MiB, "
          f"interlink {statistics.median(peaks['warm']):.1f} MiB")


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
