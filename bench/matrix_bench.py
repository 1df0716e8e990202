"""Command → reply latency of the Interlink Matrix bot next to a bare matrix-nio echo bot.

Both run against the same throw-away Synapse in the same run, so the homeserver's own cost cancels out;
the ratio is what our core and adapter add (goal: ≤ 1.5×). Run: ``.venv/bin/python bench/matrix_bench.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nio import AsyncClient, RoomCreateResponse, RoomMessageText, SyncResponse

from tests.matrix.harness import running_bot
from tests.synapse.server import SynapseServer
from tests.synapse.users import MatrixUser, register_user


async def echo_bot(client: AsyncClient, stop: asyncio.Event) -> None:
    """The baseline: the smallest useful nio bot (join on invite, answer every !command at once)."""
    first = await client.sync(timeout=0)
    assert isinstance(first, SyncResponse)
    since = first.next_batch
    while not stop.is_set():
        response = await client.sync(timeout=1000, since=since)
        if not isinstance(response, SyncResponse):
            continue
        since = response.next_batch
        for room_id in response.rooms.invite:
            await client.join(room_id)
        for room_id, info in response.rooms.join.items():
            for event in info.timeline.events:
                if isinstance(event, RoomMessageText) and event.sender != client.user_id \
                        and event.body.startswith("!"):
                    await client.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": "pong"})


async def open_room(user: MatrixUser, bot_id: str) -> str:
    created = await user.client.room_create(invite=[bot_id], is_direct=True)
    assert isinstance(created, RoomCreateResponse), created
    await user.wait_for(lambda e: getattr(e, "state_key", None) == bot_id
                        and getattr(e, "membership", None) == "join", within=30, description="bot join")
    return created.room_id


async def round_trip(user: MatrixUser, room_id: str, bot_id: str, body: str) -> float:
    """Seconds from sending ``body`` until the bot's first new message in the room is seen by a sync."""
    seen = len(user.events)
    started = time.perf_counter()
    await user.send_text(room_id, body)
    while True:
        for event in user.events[seen:]:
            if isinstance(event, RoomMessageText) and event.sender == bot_id and event.source.get(
                "content", {}).get("m.relates_to", {}).get("rel_type") != "m.replace":
                return time.perf_counter() - started
        seen = len(user.events)
        await user.sync_once(timeout_ms=30_000)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def main(rounds: int) -> None:
    with SynapseServer() as synapse, tempfile.TemporaryDirectory() as state:
        alice = await register_user(synapse.url, "alice")
        echo_user = await register_user(synapse.url, "echo")
        bot_user = await register_user(synapse.url, "bot")
        await bot_user.close()
        stop = asyncio.Event()
        echo_task = asyncio.create_task(echo_bot(echo_user.client, stop))
        async with running_bot(synapse, Path(state), bot_user.localpart):
            echo_room = await open_room(alice, echo_user.user_id)
            bot_room = await open_room(alice, bot_user.user_id)
            await round_trip(alice, bot_room, bot_user.user_id, "!poll Bench? | A | B")
            for _warmup in range(3):
                await round_trip(alice, echo_room, echo_user.user_id, "!ping")
                await round_trip(alice, bot_room, bot_user.user_id, "!results 1")
            echo_times: list[float] = []
            bot_times: list[float] = []
            for _round in range(rounds):  # interleaved, so both see the same server conditions
                echo_times.append(await round_trip(alice, echo_room, echo_user.user_id, "!ping"))
                bot_times.append(await round_trip(alice, bot_room, bot_user.user_id, "!results 1"))
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(echo_task, 5)
        await echo_user.close()
        await alice.close()

    def line(name: str, values: list[float]) -> str:
        return (f"{name:<22} p50 {statistics.median(values) * 1000:7.1f} ms   "
                f"p99 {percentile(values, 0.99) * 1000:7.1f} ms   n={len(values)}")

    print(line("bare nio echo bot", echo_times))
    print(line("interlink (!results)", bot_times))
    print(f"ratio p50 {statistics.median(bot_times) / statistics.median(echo_times):.2f}×   "
          f"p99 {percentile(bot_times, 0.99) / percentile(echo_times, 0.99):.2f}×   (goal ≤ 1.5×)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    asyncio.run(main(parser.parse_args().rounds))
