"""An event's reminders survive ``interlink run`` being killed with SIGKILL: a reminder that fell due while
the bot was down is posted once after the restart, in the group and privately to those going who started
the bot (and to nobody else privately, not even later: a reminder is not held for someone who never opened
a private chat); a reminder whose delivery was cut by the kill is finished after the restart from the
deliveries its job kept, and the job does not run again. A reminder that fell due so long ago that its event
is over is not posted at all.

Everything real: the ``interlink`` command in a subprocess, our local Telegram Bot API server, the same
store (SQLite, and PostgreSQL when ``INTERLINK_TEST_POSTGRES_URL`` is set) across the restarts. The shortest
lead time is 5 minutes, so time passes by moving jobs (and events) in the store while the bot is down;
what is asserted is what the members see in their chats.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from interlinkers.scheduling._models import Event
from storage.engine import create_engine, session_factory
from storage.models import Job, PendingReply
from tests.botapi import FakeBotAPI, Sent
from tests.botapi._server import ApiError
from tests.telegram.harness import environment

BOT = "@interlink_test_bot"
ZONE = ZoneInfo("Europe/Rome")
REMINDER = "Reminder: Clean-up starts "
JSON = dict[str, Any]


class HoldingBotAPI(FakeBotAPI):
    """The local Bot API server, able to hold the bot's ``sendMessage`` calls that ``hold`` picks, so the
    bot can be killed while they are in flight. Which of them Telegram had already carried out when the
    bot died is up to ``accepted`` (a chat id): those are shown at once, the others never reached it."""

    def __init__(self) -> None:
        super().__init__()
        self.hold: Callable[[JSON], bool] | None = None
        self.accepted: Callable[[int], bool] = lambda _chat_id: False
        self.in_flight: list[JSON] = []
        self._release = asyncio.Event()

    def release(self) -> None:
        self.hold = None
        self._release.set()

    async def _m_sendMessage(self, params: JSON) -> JSON:
        if self.hold is None or not self.hold(params):
            return await super()._m_sendMessage(params)
        accepted = self.accepted(int(params["chat_id"]))
        shown = await super()._m_sendMessage(params) if accepted else None
        self.in_flight.append(params)
        await self._notify()
        await self._release.wait()  # the bot is killed meanwhile: this answer reaches nobody
        if shown is None:
            raise ApiError(502, "Bad Gateway")
        return shown


def _spawn(api: FakeBotAPI, state_dir: Path, database_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTERLINK_")}
    env.update(environment(api, state_dir))
    env["INTERLINK_DATABASE_URL"] = database_url
    env["INTERLINK_TIMEZONE"] = ZONE.key
    interlink = Path(sys.executable).with_name("interlink")
    with log.open("ab") as sink:
        return subprocess.Popen([str(interlink), "run"], env=env, stdout=sink, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-4000:]


async def _kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    await asyncio.to_thread(process.wait, 10)


async def _stop(process: subprocess.Popen[bytes], log: Path) -> None:
    """SIGTERM: exit 0, no traceback in this run's log."""
    process.send_signal(signal.SIGTERM)
    returncode = await asyncio.to_thread(process.wait, 20)
    output = await asyncio.to_thread(_tail, log)
    assert returncode == 0, output
    assert "Traceback" not in output, output


async def _wait(api: FakeBotAPI, predicate: Callable[[], object], process: subprocess.Popen[bytes], log: Path,
                what: str, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if process.poll() is not None:
            raise AssertionError(f"interlink exited ({process.returncode}) before {what}:\n"
                                 f"{_tail(log)}")
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s: {what}; last sent {api.sent[-5:]!r}\n"
                                 f"{_tail(log)}")
        await asyncio.sleep(0.05)


def _reminders(api: FakeBotAPI, chat_id: int, since: int = 0) -> list[Sent]:
    return [s for s in api.sent[since:]
            if s.chat_id == chat_id and s.method == "sendMessage" and s.text.startswith(REMINDER)]


async def _jobs(database_url: str) -> list[Job]:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            return list((await session.scalars(select(Job).where(Job.key.startswith("scheduling:"))
                                               .order_by(Job.key))).all())
    finally:
        await engine.dispose()


async def _make_due(database_url: str, key: str, at: datetime) -> None:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine).begin() as session:
            moved = (await session.scalars(update(Job).where(Job.key == key).values(run_at=at)
                                           .returning(Job.id))).all()
            assert len(moved) == 1, f"no job {key}"
    finally:
        await engine.dispose()


async def _time_passes(database_url: str, by: timedelta) -> None:
    """While the bot is down, ``by`` goes by: the event and its jobs move that much into the past."""
    engine = create_engine(database_url)
    try:
        async with session_factory(engine).begin() as session:
            for event in (await session.scalars(select(Event))).all():
                event.starts_at -= by
            for job in (await session.scalars(select(Job).where(Job.key.startswith("scheduling:")))).all():
                job.run_at -= by
                job.params = {key: (datetime.fromisoformat(value) - by).isoformat() if key in ("starts", "at")
                              else value for key, value in job.params.items()}
    finally:
        await engine.dispose()


async def _pending(database_url: str) -> list[PendingReply]:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            return list((await session.scalars(select(PendingReply))).all())
    finally:
        await engine.dispose()


async def test_reminders_survive_sigkill_and_are_shown_once(database_url: str, tmp_path: Path) -> None:
    state = tmp_path / "state"
    logs = iter(tmp_path / f"interlink-{run}.log" for run in range(1, 10))
    api = HoldingBotAPI()
    async with api:
        olga, ann, bob = api.user(901, "Olga"), api.user(902, "Ann"), api.user(903, "Bob")
        group = api.group(-100901, "Park friends", [olga, ann, bob], admins=[olga])
        start = (datetime.now(ZONE) + timedelta(days=3)).replace(hour=10, minute=0, second=0, microsecond=0)

        # --- the event, two members going; only Ann ever wrote to the bot in private -------------------
        log = next(logs)
        process = _spawn(api, state, database_url, log)
        try:
            ann_private = api.private_chat(ann)
            api.send_text(ann, ann_private, "/start")
            api.send_text(olga, group, f"/event{BOT} Clean-up | {start:%Y-%m-%d %H:%M} | 1h | Park | remind 1d 1h")
            await _wait(api, lambda: any(s.buttons and "Clean-up" in s.text for s in api.sent_to(group.id)),
                        process, log, "the event shown with its buttons")
            api.send_text(ann, group, f"/rsvp{BOT} 1 going")
            api.send_text(bob, group, f"/rsvp{BOT} 1 going")
            await _wait(api, lambda: sum("your answer is going" in s.text for s in api.sent_to(group.id)) == 2,
                        process, log, "both answers confirmed")
            await _wait(api, lambda: api.sent_to(ann_private.id), process, log, "Ann's welcome")

            # --- killed before the first reminder is due; it falls due while the bot is down ----------
            await _kill(process)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        event_start = start.astimezone(UTC)
        [held, remind] = await _jobs(database_url)
        assert remind.key.startswith("scheduling:remind:") and held.key.startswith("scheduling:held:")
        assert abs(remind.run_at - (event_start - timedelta(days=1))) < timedelta(seconds=1), "1 day before"
        await _make_due(database_url, remind.key, datetime.now(UTC) - timedelta(minutes=1))
        assert not _reminders(api, group.id), "nothing was due before the kill"

        log = next(logs)
        process = _spawn(api, state, database_url, log)
        try:
            await _wait(api, lambda: _reminders(api, group.id) and _reminders(api, ann_private.id),
                        process, log, "the overdue reminder, in the group and to Ann")
            [posted] = _reminders(api, group.id)
            assert "Where: Park" in posted.text and "Going: 2." in posted.text, posted.text
            [private] = _reminders(api, ann_private.id)
            assert "(Europe/Rome)" in private.text and "Where: Park" in private.text, private.text
            # The next reminder (1 hour before) is planned after the late one.
            deadline = time.monotonic() + 10
            while True:
                jobs = {job.key.split(":")[1]: job for job in await _jobs(database_url)}
                if "remind" in jobs and abs(jobs["remind"].run_at - (event_start - timedelta(hours=1))) < timedelta(
                        seconds=1):
                    break
                assert time.monotonic() < deadline, f"the 1-hour reminder was not planned: {jobs}"
                await asyncio.sleep(0.1)
            second = jobs["remind"].key

            # --- killed while the next reminder is being delivered --------------------------------
            # Both messages reach the Bot API and are held there; Telegram had carried out the group's
            # when the bot died (it never heard so), Ann's never got through.
            phase = len(api.sent)
            api.hold = lambda params: str(params.get("text", "")).startswith(REMINDER)
            api.accepted = lambda chat_id: chat_id == group.id
            await _make_due(database_url, second, datetime.now(UTC))
            await _wait(api, lambda: len(api.in_flight) == 2, process, log,
                        "the 1-hour reminder in flight to the group and to Ann", within=15)
            assert not [job for job in await _jobs(database_url) if job.key == second], "the job ran and committed"
            await _kill(process)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            api.release()
        assert len(_reminders(api, group.id, phase)) == 1 and not _reminders(api, ann_private.id, phase)
        # Both messages are still kept as the job's deliveries (one origin, the private one "> Ann's chat"):
        # the restart sends these, it does not run the job again.
        kept = {(row.chat_id, row.origin, row.position) for row in await _pending(database_url)}
        [(_chat, origin, _position)] = [row for row in kept if row[0] == str(group.id)]
        assert origin.startswith(f"job:{second}:")
        assert kept == {(str(group.id), origin, 0), (str(ann_private.id), f"{origin}>{ann_private.id}", 0)}, kept

        log = next(logs)
        process = _spawn(api, state, database_url, log)
        try:
            await _wait(api, lambda: len(_reminders(api, group.id, phase)) >= 2 and _reminders(
                api, ann_private.id, phase), process, log, "the interrupted reminder finished")
            # Bob, going but never in private with the bot, opens the private chat only now.
            bob_private = api.private_chat(bob)
            assert not [c for c in api.calls if c[0] == "sendMessage" and int(c[1]["chat_id"]) == bob.id], (
                "nothing was sent to Bob privately: the bot cannot write first on Telegram")
            api.send_text(bob, bob_private, "/start")
            await _wait(api, lambda: api.sent_to(bob_private.id), process, log, "Bob's welcome")
            await _stop(process, log)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()

    # What the members saw, all told.
    assert [s.text for s in _reminders(api, group.id)[:1]] == [posted.text]
    assert len(_reminders(api, group.id)) - len(_reminders(api, group.id, phase)) == 1, (
        "the overdue reminder, once in the group")
    # The one message Telegram carried out as the bot died is shown again (the Bot API has no idempotency
    # key: better twice than never); its job did not run again, and nothing else is repeated.
    again = _reminders(api, group.id, phase)
    assert len(again) == 2 and again[0].text == again[1].text, [s.text for s in again]
    # Ann's second reminder never reached Telegram before the kill: after the restart, exactly once.
    assert len(_reminders(api, ann_private.id)) == 2, [s.text for s in _reminders(api, ann_private.id)]
    assert _reminders(api, ann_private.id)[0] is private and len(_reminders(api, ann_private.id, phase)) == 1
    assert not [s for s in api.sent_to(bob_private.id) if REMINDER in s.text], (
        "Bob gets no stale reminder when he starts the bot later: reminders are not held")
    jobs = {job.key.split(":")[1]: job for job in await _jobs(database_url)}
    assert set(jobs) == {"held"}, "both reminders done; the event's end is still to be reported"
    assert jobs["held"].run_at == event_start + timedelta(hours=1)
    assert not await _pending(database_url), "nothing left unsent"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # nothing here depends on the backend
async def test_a_reminder_overdue_after_the_event_began_is_not_posted(database_url: str, tmp_path: Path) -> None:
    """The bot is down from before a reminder until after its event took place: once back, it does not
    remind the group and those going of an event that is over ("starts 3 hours ago")."""
    state = tmp_path / "state"
    api = FakeBotAPI()
    async with api:
        olga, ann = api.user(911, "Olga"), api.user(912, "Ann")
        group = api.group(-100911, "Park friends", [olga, ann], admins=[olga])
        start = (datetime.now(ZONE) + timedelta(days=3)).replace(hour=10, minute=0, second=0, microsecond=0)
        log = tmp_path / "interlink-1.log"
        process = _spawn(api, state, database_url, log)
        try:
            ann_private = api.private_chat(ann)
            api.send_text(ann, ann_private, "/start")
            api.send_text(olga, group, f"/event{BOT} Clean-up | {start:%Y-%m-%d %H:%M} | 1h | Park | remind 1d")
            await _wait(api, lambda: any(s.buttons and "Clean-up" in s.text for s in api.sent_to(group.id)),
                        process, log, "the event shown with its buttons")
            api.send_text(ann, group, f"/rsvp{BOT} 1 going")
            await _wait(api, lambda: any("your answer is going" in s.text for s in api.sent_to(group.id))
                        and api.sent_to(ann_private.id), process, log, "Ann's answer and welcome")
            await _kill(process)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        # Down for 3 days and 3 hours: the reminder fell due, then the event began and ended.
        await _time_passes(database_url, start - datetime.now(ZONE) + timedelta(hours=3))
        assert [job.job for job in await _jobs(database_url)] == ["held", "remind"]

        log = tmp_path / "interlink-2.log"
        process = _spawn(api, state, database_url, log)
        try:
            deadline = time.monotonic() + 15
            while await _jobs(database_url):  # both jobs ran (the PA hears the event was held)
                assert process.poll() is None and time.monotonic() < deadline, _tail(log)
                await asyncio.sleep(0.1)
            await _stop(process, log)  # sends what the jobs said before it exits
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    stale = [s.text for s in [*_reminders(api, group.id), *_reminders(api, ann_private.id)]]
    assert not stale, f"reminded of an event that is over: {stale}"
