"""One ``interlink run`` process, as an operator starts it, serving Telegram and Matrix at once; and, with no
chat network configured, the console on stdin next to the HTTP server.

Everything real: the ``interlink`` command in a subprocess, our local Telegram Bot API server, a real Synapse
with real matrix-nio users, the PA API over HTTP. Assertions are what people would see: messages, tallies,
toasts, the outcomes the PA side lists, and a clean exit on SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from nio import RoomCreateResponse, RoomMemberEvent, RoomMessageText

from tests.botapi import Chat, FakeBotAPI, User
from tests.net import free_port
from tests.synapse.fixtures import UserFactory, matrix_user, synapse  # noqa: F401  (fixtures used below)
from tests.synapse.server import SynapseServer
from tests.synapse.users import PASSWORD, MatrixUser

# A clean stop must not log an unretrieved, cancelled gather of the adapters' ``wait_closed()``.
UNRETRIEVED_GATHER = "_GatheringFuture exception was never retrieved"


async def stop_gracefully(process: subprocess.Popen[str], log: Path) -> str:
    """SIGTERM: the bot exits 0 within 5 s, with no traceback in its log. Returns the log."""
    stopping = time.monotonic()
    process.send_signal(signal.SIGTERM)
    returncode = await asyncio.to_thread(process.wait, 15)
    took = time.monotonic() - stopping
    output = await asyncio.to_thread(log.read_text)
    assert returncode == 0, output[-4000:]
    assert took < 5, f"SIGTERM took {took:.1f} s to stop the bot"
    assert UNRETRIEVED_GATHER not in output, output[-4000:]
    assert "Traceback" not in output, output[-4000:]
    return output
BOT = "@interlink_test_bot"  # FakeBotAPI's default username
POLL_START = "org.matrix.msc3381.poll.start"
POLL_END = "org.matrix.msc3381.poll.end"


def base_env(tmp_path: Path, port: int) -> dict[str, str]:
    """The operator's environment: nothing inherited from ours that could turn a network on or off."""
    config = tmp_path / "interlink.toml"
    config.touch()
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTERLINK_")}
    env.update({
        "INTERLINK_CONFIG": str(config),
        "INTERLINK_STATE_DIR": str(tmp_path / "var"),
        "INTERLINK_DATABASE_URL": f"sqlite:///{tmp_path / 'interlink.db'}",
        "INTERLINK_HTTP_PORT": str(port),
    })
    return env


def spawn(env: dict[str, str], cwd: Path, log: Path, stdin: int | None) -> subprocess.Popen[str]:
    """``interlink run``; its log (stderr) goes to ``log``, stdout too unless the console is on a pipe."""
    with log.open("a") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run"], env=env, cwd=cwd, stdin=stdin,
            stdout=subprocess.PIPE if stdin == subprocess.PIPE else sink, stderr=sink, text=True,
        )


def tail(log: Path) -> str:
    return log.read_text(errors="replace")[-4000:]


async def until(check: Callable[[], Awaitable[Any]], what: str, process: subprocess.Popen[str], log: Path,
                within: float = 30.0) -> Any:
    """Retry ``check`` (falsy result or connection error: not yet) until it answers, failing early, with
    the bot's log, if the process died."""
    deadline = time.monotonic() + within
    while True:
        if process.poll() is not None:
            raise AssertionError(f"interlink exited ({process.returncode}) before {what}:\n{tail(log)}")
        try:
            result = await check()
            if result:
                return result
        except (aiohttp.ClientError, OSError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s: {what}\n{tail(log)}")
        await asyncio.sleep(0.1)


async def get_json(url: str, key: str | None = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with aiohttp.ClientSession() as session, session.get(
            url, headers=headers, timeout=aiohttp.ClientTimeout(total=5)) as r:
        return r.status, await r.json()


def cli(env: dict[str, str], cwd: Path, *args: str) -> str:
    """``interlink ARGS`` in the bot's environment, as its operator types it; its stdout."""
    done = subprocess.run([sys.executable, "-m", "bot.cli", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


async def officer_key(env: dict[str, str], cwd: Path) -> str:
    """A read API key of a new officer who sees every initiative, made with ``interlink officers``."""
    added = await asyncio.to_thread(cli, env, cwd, "officers", "add", "Giulia Rossi", "--all")
    officer = added.splitlines()[0].removeprefix("officer ").partition(":")[0]
    made = await asyncio.to_thread(cli, env, cwd, "officers", "key", officer, "--scope", "read")
    return made.strip().splitlines()[-1]


# --- Telegram and Matrix in one process ------------------------------------------------------------------


def _message_text(api: FakeBotAPI, chat: Chat, message_id: int) -> str:
    current = api.current(chat.id, message_id)
    labels = [b["text"] for row in (current.get("reply_markup") or {}).get("inline_keyboard", []) for b in row]
    return "\n".join([current["text"], *labels])


async def telegram_group_poll(api: FakeBotAPI) -> None:
    """Ben asks the group; Ann and Ben press buttons, Cat uses /vote; Ben (the creator, no admin) closes."""
    ann, ben, cat = api.user(801, "Ann", "en"), api.user(802, "Ben", "en"), api.user(803, "Cat", "en")
    group = api.group(-100801, "Via Roma neighbours", [ann, ben, cat])

    api.send_text(ben, group, f"/poll{BOT} Bench colour? | Green | Blue")
    await api.wait_for(lambda: any(s.buttons for s in api.sent_to(group.id)), within=20)
    poll = next(s for s in api.sent_to(group.id) if s.buttons)
    assert poll.text.startswith("Poll #1: Bench colour?")
    labels = {label: data for row in poll.buttons for label, data in row}
    assert set(labels) == {"Green (0)", "Blue (0)"}

    def press(user: User, label: str) -> None:
        api.press(user, group, poll.message_id, labels[label])

    press(ben, "Blue (0)")
    press(ann, "Green (0)")
    await api.wait_for(lambda: len(api.answered) == 2, within=20)
    toasts = sorted(str(a.get("text", "")) for a in api.answered.values())
    assert toasts == ["Your vote in poll #1 is counted: “Blue”.", "Your vote in poll #1 is counted: “Green”."]

    api.send_text(cat, group, f"/vote{BOT} 1 2")
    await api.wait_for(lambda: "Blue (2)" in _message_text(api, group, poll.message_id), within=20)
    assert "Green (1)" in _message_text(api, group, poll.message_id)
    assert "3 votes" in _message_text(api, group, poll.message_id)

    api.send_text(ben, group, f"/close{BOT} 1")
    await api.wait_for(lambda: any("is closed" in s.text for s in api.sent_to(group.id)), within=20)
    closed = next(s for s in api.sent_to(group.id) if "is closed" in s.text)
    assert closed.text.startswith("Poll #1 is closed: Bench colour?")
    assert "Result: “Blue” with 2 votes." in closed.text
    await api.wait_for(lambda: "closed" in api.current(group.id, poll.message_id)["text"], within=20)
    assert "reply_markup" not in api.current(group.id, poll.message_id), "a closed poll keeps no buttons"


def _edit_with(*needles: str) -> Callable[[Any], bool]:
    def matches(event: Any) -> bool:
        if not isinstance(event, RoomMessageText):
            return False
        content = event.source.get("content", {})
        new = (content.get("m.new_content") or {}).get("body", "")
        return content.get("m.relates_to", {}).get("rel_type") == "m.replace" and all(n in new for n in needles)

    return matches


async def matrix_room_poll(bot_id: str, alice: MatrixUser, bob: MatrixUser, carol: MatrixUser) -> None:
    """Alice invites the bot and asks; she answers "2", Bob reacts 1️⃣, Carol answers in her poll UI."""
    created = await alice.client.room_create(name="Park committee", invite=[bot_id, bob.user_id, carol.user_id])
    assert isinstance(created, RoomCreateResponse), created
    room = created.room_id
    await bob.join(room)
    await carol.join(room)
    await alice.wait_for(lambda e: isinstance(e, RoomMemberEvent) and e.state_key == bot_id
                         and e.membership == "join", within=30, description="the bot accepting the invite")

    await alice.send_text(room, "!poll Where should the new bench go? | Park | Library")
    poll = await alice.wait_for_text("Where should the new bench go?", sender=bot_id, within=20)
    assert "1. Park" in poll.body and "2. Library" in poll.body
    start = await alice.wait_for(lambda e: getattr(e, "type", "") == POLL_START, description="an Element poll")
    library = start.source["content"][POLL_START]["answers"][1]["id"]

    await alice.send_text(room, "2")
    await bob.send_event(room, "m.reaction", {
        "m.relates_to": {"rel_type": "m.annotation", "event_id": poll.event_id, "key": "1️⃣"},
    })
    await carol.send_event(room, "org.matrix.msc3381.poll.response", {
        "m.relates_to": {"rel_type": "m.reference", "event_id": start.event_id},
        "org.matrix.msc3381.poll.response": {"answers": [library]},
    })
    await alice.wait_for(_edit_with("Park (1)", "Library (2)", "3 votes"), within=20,
                         description="the tally edited to Park 1, Library 2")

    await alice.send_text(room, "!close 1")
    closed = await alice.wait_for_text("Poll #1 is closed: Where should the new bench go?", sender=bot_id)
    assert "Result: “Library” with 2 votes." in closed.body
    await alice.wait_for(lambda e: getattr(e, "type", "") == POLL_END and e.sender == bot_id,
                         description="the Element poll ended")


async def test_one_process_serves_telegram_and_matrix(
    synapse: SynapseServer, matrix_user: UserFactory, tmp_path: Path  # noqa: F811
) -> None:
    bot, alice, bob, carol = [await matrix_user(name) for name in ("bot", "alice", "bob", "carol")]
    port = free_port()
    log = tmp_path / "interlink.log"
    async with FakeBotAPI() as api:
        env = base_env(tmp_path, port)
        env.update({
            "INTERLINK_TELEGRAM_TOKEN": api.token,
            "INTERLINK_TELEGRAM_API_URL": api.url,
            "INTERLINK_TELEGRAM_POLL_TIMEOUT": "1",
            "INTERLINK_MATRIX_HOMESERVER": synapse.url,
            "INTERLINK_MATRIX_USER": bot.user_id,
            "INTERLINK_MATRIX_PASSWORD": PASSWORD,
            "INTERLINK_MATRIX_ALLOWED_INVITERS": ",".join(u.user_id for u in (alice, bob, carol)),
        })
        process = spawn(env, tmp_path, log, stdin=subprocess.DEVNULL)
        try:
            api_url = f"http://127.0.0.1:{port}"
            health = await until(lambda: get_json(f"{api_url}/healthz"), "the HTTP server answering", process, log)
            assert health == (200, {"status": "ok", "dead_letters": 0})
            key = await officer_key(env, tmp_path)  # the database exists now: the bot made it
            # Both networks at the same time, in one process.
            async with asyncio.TaskGroup() as both:
                both.create_task(telegram_group_poll(api))
                both.create_task(matrix_room_poll(bot.user_id, alice, bob, carol))

            async def both_outcomes() -> list[dict[str, Any]] | None:
                status, body = await get_json(f"{api_url}/api/v1/outcomes", key)
                if status == 429:  # asked too often while the outbox delivers: ask again shortly
                    return None
                assert status == 200, body
                return body["items"] if len(body["items"]) >= 2 else None

            outcomes = await until(both_outcomes, "two outcomes in /api/v1/outcomes", process, log, within=15)
            by_initiative = {o["initiative"]: o for o in outcomes}
            assert set(by_initiative) == {"Via Roma neighbours", "Park committee"}, outcomes
            telegram, matrix = by_initiative["Via Roma neighbours"], by_initiative["Park committee"]
            assert telegram["kind"] == matrix["kind"] == "poll"
            assert telegram["title"] == "Bench colour?"
            assert telegram["result"]["options"] == [{"label": "Green", "votes": 1}, {"label": "Blue", "votes": 2}]
            assert telegram["result"]["total_votes"] == 3 and telegram["result"]["winners"] == ["Blue"]
            assert matrix["title"] == "Where should the new bench go?"
            assert matrix["result"]["options"] == [{"label": "Park", "votes": 1}, {"label": "Library", "votes": 2}]
            assert matrix["result"]["total_votes"] == 3 and matrix["result"]["winners"] == ["Library"]
            status, only_matrix = await get_json(f"{api_url}/api/v1/outcomes?initiative=Park%20committee", key)
            assert status == 200 and only_matrix == {"items": [matrix], "next_cursor": None}

            await stop_gracefully(process, log)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


# --- no network configured: the console on stdin -----------------------------------------------------------

SCRIPT = """\
@ann /start
@ben /poll Which day for the clean-up? | Saturday | Sunday
@cat /vote 1 1
@ben [2]
@cat /vote 1 2
@ann /close 1
"""


async def test_run_without_networks_reads_the_console_while_serving_http(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "interlink.log"
    env = base_env(tmp_path, port)
    process = spawn(env, tmp_path, log, stdin=subprocess.PIPE)
    try:
        status, body = await until(lambda: get_json(f"http://127.0.0.1:{port}/healthz"),
                                   "/healthz answering", process, log)
        assert (status, body) == (200, {"status": "ok", "dead_letters": 0})
        assert process.poll() is None, "the console waits for its user while stdin stays open"

        out, _ = await asyncio.to_thread(process.communicate, SCRIPT, 30)  # write, close stdin, wait
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = await asyncio.to_thread(tail, log)
    assert process.returncode == 0, output
    assert "Poll #1 is closed: Which day for the clean-up?" in out
    assert "Result: “Sunday” with 2 votes." in out
    assert "Traceback" not in output, output

    summary = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "bot.cli", "summary", "--format", "json"], env=env, cwd=tmp_path,
        capture_output=True, text=True, timeout=60,
    )
    assert summary.returncode == 0, summary.stderr
    [outcome] = json.loads(summary.stdout)
    assert outcome["kind"] == "poll" and outcome["initiative"] == "Console"
    assert outcome["title"] == "Which day for the clean-up?"
    assert outcome["result"]["options"] == [{"label": "Saturday", "votes": 0}, {"label": "Sunday", "votes": 2}]
    assert outcome["result"]["winners"] == ["Sunday"] and outcome["result"]["closed_by"] == "hand"


async def test_run_without_networks_stops_on_sigterm_with_stdin_open(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "interlink.log"
    process = spawn(base_env(tmp_path, port), tmp_path, log, stdin=subprocess.PIPE)
    try:
        await until(lambda: get_json(f"http://127.0.0.1:{port}/healthz"), "/healthz answering", process, log)
        process.send_signal(signal.SIGTERM)
        try:
            returncode = await asyncio.to_thread(process.wait, 5)
        except subprocess.TimeoutExpired:
            returncode = None
        assert returncode == 0, "still running 5 s after SIGTERM"
    finally:
        if process.poll() is None:
            await asyncio.to_thread(process.communicate, "", 20)  # EOF lets it finish
