"""Running counts (a vote never recounts its poll) stay equal to the ballots, on both databases, through
every way a ballot changes; and closing records the ballots' count even if the running one went wrong."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from sqlalchemy import func, select, update

from bot.config import Settings
from bot.events import ButtonPress, Command, NativePollAnswer, Reply
from interlinkers.polls._models import Ballot, PollOption
from storage.models import Outcome
from tests.test_core import RecordingAdapter, start, user


async def _counts(h: object, poll_id: int) -> tuple[list[int], list[int]]:
    """(running counts, counts of current ballots) per option."""
    async with h.app.sessions() as session:  # type: ignore[attr-defined]
        running = list(await session.scalars(
            select(PollOption.votes).where(PollOption.poll_id == poll_id).order_by(PollOption.position)))
        counted = dict((await session.execute(
            select(Ballot.position, func.count()).where(Ballot.poll_id == poll_id, Ballot.superseded_at.is_(None))
            .group_by(Ballot.position))).all())
    return running, [counted.get(position, 0) for position in range(1, len(running) + 1)]


@pytest.mark.parametrize("anonymous", [False, True])
async def test_running_counts_follow_votes_changes_withdrawals_and_erasure(
    database_url: str, make_settings: Callable[..., Settings], anonymous: bool
) -> None:
    adapter = RecordingAdapter()
    h = await start(make_settings(database_url), adapter)
    try:
        question = "Bench colour? | Green | Blue | Red" + (" | anonymous" if anonymous else "")
        await h.send(user("ann"), Command("poll", question))
        poll = next(m for _c, m in adapter.sent if isinstance(m, Reply) and m.key)
        green, blue, red = (button.payload for button in poll.buttons)
        for name in ("ben", "cat", "dan", "eve"):
            await h.send(user(name), ButtonPress(green))
        await h.send(user("ben"), ButtonPress(blue))  # changed
        await h.send(user("cat"), ButtonPress(blue))  # changed
        await h.send(user("cat"), ButtonPress(blue))  # the same again: nothing changes
        await h.send(user("dan"), Command("vote", "1 3"))  # typed, changed
        await h.send(user("dan"), Command("vote", "1 9"))  # no such option: rolled back
        await h.send(user("eve"), NativePollAnswer((), key=poll.key))  # withdrawn (a retracted native vote)
        await h.send(user("fay"), ButtonPress(red))
        await h.send(user("fay"), Command("forgetme", "confirm"))  # erased: her open vote is withdrawn
        running, counted = await _counts(h, 1)
        assert running == counted == [0, 2, 1]
        adapter.sent.clear()
        await h.send(user("ann"), Command("results", "1"))
        assert "3 votes" in adapter.texts()[-1]
    finally:
        await h.app.stop()


async def test_closing_records_the_ballots_and_repairs_a_wrong_running_count(
    database_url: str, make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    adapter = RecordingAdapter()
    h = await start(make_settings(database_url), adapter)
    try:
        await h.send(user("ann"), Command("poll", "Bench colour? | Green | Blue"))
        poll = next(m for _c, m in adapter.sent if isinstance(m, Reply) and m.key)
        for name in ("ben", "cat", "dan"):
            await h.send(user(name), ButtonPress(poll.buttons[1].payload))
        async with h.app.sessions.begin() as session:  # a running count gone wrong (a bug, a hand edit)
            await session.execute(update(PollOption).where(PollOption.position == 1).values(votes=7))
        with caplog.at_level(logging.WARNING, logger="interlinkers.polls._store"):
            await h.send(user("ann"), Command("close", "1"))
        assert "differed from its ballots" in caplog.text
        async with h.app.sessions() as session:
            outcome = await session.scalar(select(Outcome))
        assert outcome is not None
        assert [o["votes"] for o in outcome.payload["result"]["options"]] == [0, 3]
        assert outcome.payload["result"]["winners"] == ["Blue"]
        running, counted = await _counts(h, 1)
        assert running == counted == [0, 3]
    finally:
        await h.app.stop()


async def test_an_option_out_of_range_is_named_as_such(
    database_url: str, make_settings: Callable[..., Settings]
) -> None:
    adapter = RecordingAdapter()
    h = await start(make_settings(database_url), adapter)
    try:
        await h.send(user("ann"), Command("poll", "Bench colour? | Green | Blue"))
        for option in ("3", "99999", "0"):
            adapter.sent.clear()
            await h.send(user("ben"), Command("vote", f"1 {option}"))
            assert adapter.texts() == ["Poll #1 has options 1 to 2."]
        assert (await _counts(h, 1)) == ([0, 0], [0, 0])
    finally:
        await h.app.stop()


def test_options_that_start_like_a_setting_stay_options_and_near_misses_are_refused() -> None:
    from zoneinfo import ZoneInfo

    from bot.errors import UserError
    from interlinkers.polls._parsing import parse_poll

    rome = ZoneInfo("Europe/Rome")
    draft = parse_poll("Library hours? | Closes early | Closes late | Closes at noon", rome)
    assert draft.options == ("Closes early", "Closes late", "Closes at noon") and draft.closes_at is None
    for word in ("anonymous", "Anónimo", "anonima", "anonīms"):  # any of our languages, accents optional
        draft = parse_poll(f"Which bench? | Oak | Pine | {word}", rome)
        assert draft.anonymous and draft.options == ("Oak", "Pine")
    draft = parse_poll("Named or anonymous feedback? | Named | Anonymous", rome)  # needed as an option
    assert not draft.anonymous and draft.options == ("Named", "Anonymous")
    with pytest.raises(UserError, match="“anonymus” looks like a setting I do not know"):
        parse_poll("Which bench? | Oak | Pine | anonymus", rome)
    names = parse_poll("Who chairs? | Antonio | Anima | Canon | Annona", rome)  # words of their own
    assert names.options == ("Antonio", "Anima", "Canon", "Annona") and not names.anonymous
    with pytest.raises(UserError, match="I could not read the closing time"):
        parse_poll("Lunch? | Pizza | Sushi | closes tomorrow-ish", rome)
    assert parse_poll("Lunch? | closes in 2h | Pizza | Sushi", rome).closes_at is not None
