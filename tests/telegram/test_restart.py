"""``interlink run`` killed with SIGKILL in the middle of a batch and restarted: every update has exactly
one effect — none lost (the offset was not confirmed), none applied twice (the core skips known ids) — and
every reply is shown (replies are kept in the store until sent)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.botapi import FakeBotAPI
from tests.telegram.harness import environment

N = 30


def _spawn(api: FakeBotAPI, state_dir: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTERLINK_")}
    env.update(environment(api, state_dir))
    env["INTERLINK_TELEGRAM_RATE_PER_CHAT"] = "5/s"  # slow enough to be killed mid-batch
    interlink = Path(sys.executable).with_name("interlink")
    return subprocess.Popen([str(interlink), "run"], env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)


def _polls(api: FakeBotAPI, chat_id: int) -> list[str]:
    return [s.text for s in api.sent_to(chat_id) if s.method == "sendMessage" and s.buttons]


@pytest.mark.parametrize("kill_after", [1, 20])  # early in the batch, or late (journaled, confirmed)
async def test_sigkill_mid_batch_then_restart_applies_each_update_once(
    api: FakeBotAPI, tmp_path: Path, kill_after: int
) -> None:
    alice = api.user(701, "Alice")
    chat = api.private_chat(alice)
    for i in range(N):
        api.send_text(alice, chat, f"/poll Question {i}? | Yes | No")
    log = tmp_path / "interlink.log"
    process = _spawn(api, tmp_path, log)
    try:
        await api.wait_for(lambda: len(_polls(api, chat.id)) >= kill_after, within=30)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        shown_before_kill = len(_polls(api, chat.id))
        assert shown_before_kill < N

        process = _spawn(api, tmp_path, log)
        api.send_text(alice, chat, "/poll Final? | Yes | No")
        await api.wait_for(lambda: any("Final?" in t for t in _polls(api, chat.id)), within=60)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            await asyncio.to_thread(process.wait, 20)
    polls = _polls(api, chat.id)
    final = next(t for t in polls if "Final?" in t)
    number = int(re.search(r"#(\d+)", final).group(1))  # type: ignore[union-attr]
    assert number == N + 1, f"exactly {N} polls were created before the final one\n{log.read_text()[-3000:]}"
    shown = [sum(f"Question {i}?" in t for t in polls) for i in range(N)]
    # No reply is lost: one whose update committed just before the kill was kept in the store with the
    # update and sent after the restart.
    assert all(count >= 1 for count in shown), f"poll messages never shown: {[i for i, c in enumerate(shown) if not c]}"
    # Telegram has no idempotency key, so the one message in flight at the kill (sent, not yet recorded as
    # sent) may be shown a second time: better twice than never. Nothing else is repeated.
    assert sum(count - 1 for count in shown) <= 1, f"shown more than once: {shown}"
    assert api.pending_updates == 0, "everything was confirmed after the graceful stop"
