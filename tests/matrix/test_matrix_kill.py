"""``interlink run`` with only Matrix configured, SIGKILLed while it answers a burst of commands, then
restarted on the same state directory and database: as the room's users see it, every command has exactly
one effect — each poll exists once with its votes counted once, nothing is answered twice, the bot keeps
its device — and a SIGTERM then stops it with exit code 0.

Everything real: the ``interlink`` command in a subprocess, a real Synapse, real matrix-nio users. The bot
reaches Synapse through a small pass-through proxy owned by the test; it changes nothing, except that it
holds one chosen send (the creation message of a poll in the middle of the burst) so the SIGKILL lands
deterministically while the bot is handling the burst, with a reply in flight.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from nio import (
    DevicesResponse,
    RoomCreateResponse,
    RoomMemberEvent,
    UnknownEvent,
)
from yarl import URL

from tests.matrix.reading import bot_texts, history
from tests.net import free_port
from tests.synapse.fixtures import UserFactory
from tests.synapse.server import SynapseServer
from tests.synapse.users import PASSWORD, MatrixUser
from tests.test_all_networks import base_env, spawn, stop_gracefully, tail

POLL_START = "org.matrix.msc3381.poll.start"
FIRST_BURST, LAST_BURST = 2, 7  # poll #1 comes before the burst
HELD = 4  # the creation message of poll #4 is in flight when the bot is killed
DOWN = 8  # poll #8 and its votes are sent while the bot is down
HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "keep-alive"}


@asynccontextmanager
async def proxy_to(upstream: str, hold: Callable[[str, str, bytes], bool]) -> AsyncIterator[tuple[str, asyncio.Event]]:
    """A pass-through HTTP proxy to ``upstream``; the first request for which ``hold(method, path, body)``
    is true is never forwarded (the bot sees it hang). Yields the proxy's URL and an event set then."""
    held, release = asyncio.Event(), asyncio.Event()
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None), auto_decompress=False)

    async def forward(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        if not held.is_set() and hold(request.method, request.path, body):
            held.set()
            await release.wait()
            return web.Response(status=502)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        url = URL(upstream + request.raw_path, encoded=True)
        async with session.request(request.method, url, headers=headers, data=body or None,
                                   allow_redirects=False) as answer:
            payload = await answer.read()
            kept = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_HEADERS}
            return web.Response(status=answer.status, body=payload, headers=kept)

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", forward)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1)  # long-polls in flight
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}", held
    finally:
        release.set()
        await session.close()  # ends the forwarded long-polls of the dead bot
        await runner.cleanup()


def _is_creation_of(number: int) -> Callable[[str, str, bytes], bool]:
    """The bot's ``PUT …/send/m.room.message/…`` that shows poll ``number`` for the first time."""
    def hold(method: str, path: str, body: bytes) -> bool:
        if method != "PUT" or "/send/m.room.message/" not in path:
            return False
        try:
            content = json.loads(body)
        except ValueError:
            return False
        return "m.new_content" not in content and str(content.get("body", "")).startswith(f"Poll #{number}: ")
    return hold


async def _until_said(user: MatrixUser, room_id: str, bot_id: str, done: Callable[[list[str]], bool],
                      what: str, process: subprocess.Popen[str], log: Path, within: float = 30.0) -> list[Any]:
    """Read the room back until what the bot said satisfies ``done``; returns the room's events."""
    deadline = time.monotonic() + within
    while True:
        events = await history(user, room_id)
        if done(bot_texts(events, bot_id, notices=False)):
            return events
        alive = "running" if process.poll() is None else f"exited ({process.returncode})"
        assert time.monotonic() < deadline, f"not within {within} s: {what} (interlink {alive})\n{tail(log)}"
        await asyncio.sleep(0.2)


async def _wait(process: subprocess.Popen[str], log: Path, what: str, coro: Any) -> Any:
    """Await ``coro``, failing with the bot's log if it raises (for instance its own timeout)."""
    try:
        return await coro
    except AssertionError as exc:
        alive = "running" if process.poll() is None else f"exited ({process.returncode})"
        raise AssertionError(f"{exc} ({what}; interlink {alive})\n{tail(log)}") from None


async def test_sigkill_mid_burst_then_restart_every_command_has_one_effect(
    synapse: SynapseServer, matrix_user: UserFactory, tmp_path: Path
) -> None:
    bot, alice, bob, carol = [await matrix_user(name) for name in ("bot", "alice", "bob", "carol")]
    log = tmp_path / "interlink.log"

    async with proxy_to(synapse.url, _is_creation_of(HELD)) as (homeserver, held):
        env = base_env(tmp_path, free_port())
        env.update({
            "INTERLINK_MATRIX_HOMESERVER": homeserver,
            "INTERLINK_MATRIX_USER": bot.user_id,
            "INTERLINK_MATRIX_PASSWORD": PASSWORD,
            "INTERLINK_MATRIX_ALLOWED_INVITERS": alice.user_id,
        })
        process = spawn(env, tmp_path, log, stdin=subprocess.DEVNULL)
        try:
            # Alice invites the bot; everyone sees it answer a first poll and a vote.
            created = await alice.client.room_create(name="Kill committee", invite=[bot.user_id, bob.user_id,
                                                                                    carol.user_id])
            assert isinstance(created, RoomCreateResponse), created
            room = created.room_id
            await bob.join(room)
            await carol.join(room)
            await _wait(process, log, "the bot joining", alice.wait_for(
                lambda e: isinstance(e, RoomMemberEvent) and e.state_key == bot.user_id and e.membership == "join",
                within=30, description="the bot accepting the invite"))
            await alice.send_text(room, "!poll Q1? | A | B | C")
            await _wait(process, log, "poll #1", alice.wait_for_text("Poll #1: Q1?", sender=bot.user_id, within=20))
            await bob.send_text(room, "!vote 1 1")
            await _wait(process, log, "bob's first vote", alice.wait_for_text(
                "Your vote in poll #1 is counted: “A”.", sender=bot.user_id, within=20))

            # The burst: a poll, then one vote from each of Bob (1), Carol (2) and Alice (3), six times over.
            # Whatever is not sent yet when the bot is killed is sent while it is down.
            async def burst() -> None:
                for number in range(FIRST_BURST, LAST_BURST + 1):
                    await alice.send_text(room, f"!poll Q{number}? | A | B | C")
                    await bob.send_text(room, f"!vote {number} 1")
                    await carol.send_text(room, f"!vote {number} 2")
                    await alice.send_text(room, f"!vote {number} 3")

            sending = asyncio.create_task(burst())
            try:
                deadline = time.monotonic() + 30
                while not held.is_set():
                    assert process.poll() is None, f"interlink exited ({process.returncode})\n{tail(log)}"
                    assert time.monotonic() < deadline, f"the bot never got to poll #{HELD}\n{tail(log)}"
                    await asyncio.sleep(0.02)
                # Poll #4's update is committed and its message is on its way to Synapse: kill now.
                process.send_signal(signal.SIGKILL)
                await asyncio.to_thread(process.wait, 10)
            finally:
                await sending
            assert process.returncode == -signal.SIGKILL
            # The first answers of the burst did arrive before the kill.
            before = bot_texts(await history(alice, room), bot.user_id, notices=False)
            assert any(t.startswith(f"Poll #{HELD - 1}: ") for t in before), before
            assert f"Your vote in poll #{HELD - 1} is counted: “C”." in before, before
            assert not any(t.startswith(f"Poll #{HELD + 1}: ") for t in before), "killed too late"

            # While the bot is down: one more poll and its votes.
            await alice.send_text(room, f"!poll Q{DOWN}? | A | B | C")
            await bob.send_text(room, f"!vote {DOWN} 1")
            await carol.send_text(room, f"!vote {DOWN} 2")
            await alice.send_text(room, f"!vote {DOWN} 3")

            # Same command, same state directory and database.
            process = spawn(env, tmp_path, log, stdin=subprocess.DEVNULL)
            last = f"Your vote in poll #{DOWN} is counted: “C”."
            events = await _until_said(alice, room, bot.user_id, lambda said: last in said, "catching up",
                                       process, log)
            caught_up = len(events)

            for number in range(1, DOWN + 1):
                await alice.send_text(room, f"!results {number}")

            def answered(said: list[str]) -> bool:
                return len([t for t in said if re.match(r"Poll #\d+: ", t) and "Vote with" not in t]) >= DOWN

            events = await _until_said(alice, room, bot.user_id, answered, "the !results answers", process, log,
                                       within=20)
            results: dict[int, list[str]] = {}
            for text in bot_texts(events[caught_up:], bot.user_id, notices=False):
                if found := re.match(r"Poll #(\d+): ", text):
                    results.setdefault(int(found.group(1)), []).append(text)

            output = await stop_gracefully(process, log)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()

    # Every poll exists exactly once, with each vote counted once: the !results answers.
    assert sorted(results) == list(range(1, DOWN + 1)), results
    for number in range(1, DOWN + 1):
        [body] = results[number]
        assert body.startswith(f"Poll #{number}: Q{number}?"), body
        expected = (1, 0, 0) if number == 1 else (1, 1, 1)
        counts = tuple(int(n) for n in re.findall(r"^\d\. [ABC] — \S+ (\d+) votes?", body, re.MULTILINE))
        assert counts == expected, f"poll #{number}: {body}"

    # Nothing was done twice: no poll announced or started twice, no confirmation twice, no refusal.
    said = bot_texts(events[:caught_up], bot.user_id, notices=False)
    assert not [t for t in said if "already voted" in t or "changed your vote" in t], said
    assert not [t for t in said if t.startswith(f"Poll #{DOWN + 1}")], "one poll too many"
    announced = {n: [t for t in said if t.startswith(f"Poll #{n}: Q{n}?")] for n in range(1, DOWN + 1)}
    for number in range(1, DOWN + 1):
        assert len(announced[number]) <= 1, f"poll #{number} was announced {len(announced[number])} times"
        starts = [e for e in events if isinstance(e, UnknownEvent) and e.type == POLL_START and e.sender == bot.user_id
                  and e.source["content"][POLL_START]["question"]["body"] == f"Q{number}?"]
        assert len(starts) == len(announced[number]), f"poll #{number} was started {len(starts)} times in Element"
        for option in "ABC" if number > 1 else "A":
            confirmation = f"Your vote in poll #{number} is counted: “{option}”."
            assert said.count(confirmation) == 1, f"{confirmation!r} shown {said.count(confirmation)} times"

    # The same device after the restart: one login in the logs, one "Interlink bot" device on the account.
    logins = re.findall(r"Matrix: logged in as \S+, device (\S+)", output)
    assert len(logins) == 1, f"logged in {len(logins)} times: {logins}"
    devices = await bot.client.devices()
    assert isinstance(devices, DevicesResponse), devices
    ours = [d.id for d in devices.devices if d.display_name == "Interlink bot"]
    assert ours == logins, f"the bot's devices: {ours}, logged in with {logins}"

    # Nothing lost: the poll being announced when the bot was killed is announced after the restart (its
    # reply was kept in the store with the update that created it, and sent again with the same txn id).
    missing = [n for n in range(1, DOWN + 1) if not announced[n]]
    assert not missing, f"polls never announced: {missing}"
