"""What the issue asks to show: ``interlink run`` with only a token and an API URL, against a Bot API server
that follows the documentation — a poll created with /poll, voted with buttons and with /vote, closed, and
its outcome listed by GET /api/v1/outcomes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp

from tests.botapi import FakeBotAPI
from tests.net import free_port
from tests.telegram.harness import button, environment


def _spawn(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([str(Path(sys.executable).with_name("interlink")), "run"], env=env,
                            stdout=log.open("wb"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def _interlink(env: dict[str, str], *args: str) -> str:
    """The operator's ``interlink ARGS`` beside the running bot, in its environment; its stdout."""
    done = subprocess.run([str(Path(sys.executable).with_name("interlink")), *args], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


async def _officer_key(env: dict[str, str]) -> str:
    """``interlink officers add … --all`` and ``interlink officers key N``: a read key that sees every group."""
    added = await asyncio.to_thread(_interlink, env, "officers", "add", "Giulia Rossi", "--all")
    officer = added.splitlines()[0].removeprefix("officer ").partition(":")[0]
    made = await asyncio.to_thread(_interlink, env, "officers", "key", officer, "--scope", "read")
    return made.strip().splitlines()[-1]


async def _outcomes(port: int, key: str) -> list[dict[str, object]]:
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {key}"}) as session:
        for _ in range(100):
            try:
                async with session.get(f"http://127.0.0.1:{port}/api/v1/outcomes") as response:
                    body = await response.json()
                    assert response.status == 200, body
                    documents: list[dict[str, object]] = body["items"]
                    if documents:
                        return documents
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    return []


async def test_interlink_run_poll_by_buttons_and_vote_command_to_outcome(api: FakeBotAPI, tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTERLINK_")}
    full = environment(api, tmp_path)
    # Only what an operator sets (plus a throw-away state dir and port for the test).
    for key in ("INTERLINK_TELEGRAM_TOKEN", "INTERLINK_TELEGRAM_API_URL", "INTERLINK_STATE_DIR",
                "INTERLINK_DATABASE_URL", "INTERLINK_CONFIG"):
        env[key] = full[key]
    env["INTERLINK_HTTP_PORT"] = str(port)
    log = tmp_path / "interlink.log"
    process = _spawn(env, log)
    try:
        alice, bob, carol = api.user(1101, "Alice"), api.user(1102, "Bob"), api.user(1103, "Carol")
        group = api.group(-1001100, "Library friends", [alice, bob, carol], admins=[alice])
        api.send_text(alice, group, "/poll@interlink_test_bot Longer opening hours? | Yes | No")
        await api.wait_for(lambda: any(s.buttons for s in api.sent_to(group.id)), within=30)
        poll = next(s for s in api.sent_to(group.id) if s.buttons)
        api.press(bob, group, poll.message_id, button(poll, "Yes"))
        api.send_text(carol, group, "/vote@interlink_test_bot 1 1")
        await api.wait_for(lambda: "Yes (2)" in str(api.current(group.id, poll.message_id)), within=30)
        key = await _officer_key(env)  # the bot has made its database by now: it answered in the group
        api.send_text(alice, group, "/close@interlink_test_bot 1")
        outcomes = await _outcomes(port, key)
        assert len(outcomes) == 1, log.read_text()[-3000:]
        assert "Longer opening hours?" in str(outcomes[0]) and "'votes': 2" in str(outcomes[0])
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.to_thread(process.wait, 30)
    assert process.returncode == 0, log.read_text()[-3000:]
