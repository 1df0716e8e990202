"""Polls and decisions: create, vote (buttons, /vote, native polls), close by hand or at a deadline.

Closing writes the outcome in the same transaction, so what the PA side receives is exactly what the
group saw decided.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import String, cast, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.buttons import PayloadError
from bot.context import Context
from bot.errors import UserError
from bot.events import Button, PollSpec
from bot.i18n import N_, _
from bot.interlinker import Catalogue, Interlinker, button, command, dialog, job
from bot.jobs import schedule
from bot.services import Services
from interlinkers.polls import _store as store
from interlinkers.polls._models import Ballot, Poll, PollOption
from interlinkers.polls._parsing import check_options, check_question, parse_poll, parse_poll_number, parse_vote
from interlinkers.polls._render import Tally, result_line, tally_lines, votes
from interlinkers.polls._store import PollState

NAME = "polls"


def message_key(poll: PollState) -> str:
    return f"{NAME}:{poll.id}"


def job_id(poll: PollState | Poll) -> str:
    return f"{NAME}.close.{poll.id}"


def _named_key(user_id: int) -> str:
    """A named poll's one-vote key (an anonymous poll's is a keyed hash: ``Polls._anonymous_key``)."""
    return f"u:{user_id}"


class Polls(Interlinker):
    name = NAME
    catalogue = Catalogue(
        title=N_("Polls and decisions"),
        description=N_("Ask the group a question and record the decision for the public administration."),
        problem_profiles=("ORG_PROBLEM_11", "ORG_PROBLEM_4"),
        targets=("citizens", "public_administrations", "nonprofit"),
        licence="EUPL-1.2",
    )
    migrations = Path(__file__).resolve().parent / "migrations"

    def __init__(self, services: Services) -> None:
        super().__init__(services)
        self._ballot_key = hashlib.sha256(("anonymous-ballots:" + services.settings.secret).encode()).digest()

    # --- commands ----------------------------------------------------------------------------------

    @command("poll", help=N_("Start a poll (alone: I ask step by step)"), usage=N_("<question> | <option> | <option>"))
    async def poll(self, ctx: Context, args: str) -> None:
        if not args:
            await ctx.start_dialog(NAME, "create", "question", {})
            ctx.reply(_("What is the question of the poll? (Send /cancel to stop.)"))
            return
        draft = parse_poll(args, ctx.tz)
        await self._create(ctx, draft.question, draft.options, draft.closes_at, draft.anonymous)

    @dialog("create")
    async def create_dialog(self, ctx: Context, text: str, step: str, data: dict[str, object]) -> None:
        if step == "question":
            question = check_question(text)
            await ctx.start_dialog(NAME, "create", "options", {"question": question})
            ctx.reply(
                _("Now send the options, one per line (or separated by |), from {minimum} to {maximum}.").format(
                    minimum=2, maximum=12
                )
            )
            return
        options = check_options([o for o in re.split(r"\n|\|", text) if o.strip()] or [""])
        await ctx.end_dialog()
        await self._create(ctx, str(data["question"]), options, None, False)

    @command("vote", help=N_("Vote in a poll"), usage=N_("<poll number> <option number>"))
    async def vote(self, ctx: Context, args: str) -> None:
        number, position = parse_vote(args)
        poll = await self._find(ctx, number)
        await self._cast(ctx, poll.id, position, confirm=ctx.reply)

    @command("close", help=N_("Close a poll and record its result (creator or organiser)"),
             usage=N_("<poll number>"))
    async def close(self, ctx: Context, args: str) -> None:
        poll = await self._find(ctx, parse_poll_number(args, "close"))
        ctx.authorize(owner_id=poll.creator_id)
        if not poll.is_open:
            raise UserError(_("Poll #{number} is already closed.").format(number=poll.number))
        await self._close(ctx, poll)

    @command("results", help=N_("Show the votes of a poll so far"), usage=N_("<poll number>"))
    async def results(self, ctx: Context, args: str) -> None:
        poll = await self._find(ctx, parse_poll_number(args, "results"))
        tally = await store.tally(ctx.session, poll.id)
        lines = [self._title(poll), *tally_lines(tally), votes(tally.total)]
        if not poll.is_open:
            lines.append(result_line(tally))
        ctx.reply("\n".join(lines))

    # --- buttons, native polls, jobs ---------------------------------------------------------------

    @button("v")
    async def vote_button(self, ctx: Context, poll_id: str, position: str) -> None:
        await self._cast(ctx, int(poll_id), int(position), confirm=ctx.notice)

    async def on_native_poll_answer(self, ctx: Context, key: str, payloads: tuple[str, ...]) -> None:
        if payloads:
            try:
                parsed = self.services.signer.verify(payloads[0])
            except PayloadError:
                raise UserError(_("This button is not valid any more. Send /help to start again.")) from None
            if parsed.interlinker != NAME or parsed.kind != "v" or len(parsed.args) != 2:
                raise UserError(_("This button is not valid any more. Send /help to start again."))
            await self.vote_button(ctx, *parsed.args)
            return
        poll = await store.poll_by_id(ctx.session, int(key.rpartition(":")[2] or 0))
        if poll is not None and poll.is_open and poll.initiative_id == ctx.initiative.id:
            at = poll.created_at if poll.anonymous else datetime.now(UTC)
            if await store.withdraw(ctx.session, poll.id, self._voter_key(poll, ctx.user_id), at):
                await self._refresh(ctx, poll)
                ctx.notice(_("Your vote on poll #{number} was withdrawn.").format(number=poll.number))

    @job("close")
    async def close_job(self, ctx: Context, poll_id: int) -> None:
        poll = await store.poll_by_id(ctx.session, poll_id)
        if poll is not None and poll.is_open:
            await self._close(ctx, poll, by_deadline=True)

    async def start(self) -> None:
        """Every open poll with a deadline has its job. Jobs are written with their poll, so this only
        matters for polls made before jobs were data (their APScheduler rows are gone)."""
        async with self.services.sessions.begin() as session:
            polls = await session.scalars(select(Poll).where(Poll.closed_at.is_(None), Poll.closes_at.is_not(None)))
            for poll in polls:
                assert poll.closes_at is not None
                await schedule(session, job_id(poll), NAME, "close", poll.platform, poll.chat_id, poll.closes_at,
                               {"poll_id": poll.id}, replace=False)

    # --- personal data -----------------------------------------------------------------------------

    async def describe_user_data(self, session: AsyncSession, user_id: int) -> list[str]:
        created = await session.scalar(select(func.count()).select_from(Poll).where(Poll.creator_id == user_id))
        named = await session.scalar(
            select(func.count()).select_from(Ballot).where(Ballot.voter_user_id == user_id)
        )
        return [
            _("Polls you created: {count}").format(count=created or 0),
            _("Votes cast in named polls, with their history: {count}").format(count=named or 0),
            _("Votes in anonymous polls are not linked to you."),
        ]

    async def forget_user(self, session: AsyncSession, user_id: int) -> None:
        """Votes in open polls are withdrawn (the person could not be recognised if they voted again);
        votes in closed polls stay counted but lose every link to the person (also the ``u:<id>`` key,
        since a deleted id may be given to someone else later)."""
        now = datetime.now(UTC)
        for poll in await session.scalars(select(Poll).where(Poll.closed_at.is_(None))):
            await store.withdraw(session, poll.id, self._voter_key(poll, user_id),
                                 poll.created_at if poll.anonymous else now)
        await session.execute(update(Poll).where(Poll.creator_id == user_id).values(creator_id=None))
        await session.execute(
            update(Ballot)
            .where(Ballot.voter_user_id == user_id)
            .values(voter_user_id=None, voter_key=literal("erased:") + cast(Ballot.id, String))
        )
        await session.execute(
            update(Ballot)
            .where(Ballot.voter_key == _named_key(user_id))
            .values(voter_key=literal("erased:") + cast(Ballot.id, String))
        )

    # --- internals ---------------------------------------------------------------------------------

    async def _create(
        self, ctx: Context, question: str, options: tuple[str, ...], closes_at: datetime | None, anonymous: bool
    ) -> None:
        row = Poll(
            initiative_id=ctx.initiative.id,
            number=await ctx.next_number(NAME),
            question=question,
            creator_id=ctx.user_id,
            platform=ctx.chat.platform,
            chat_id=ctx.chat.chat_id,
            anonymous=anonymous,
            closes_at=closes_at,
        )
        ctx.session.add(row)
        await ctx.session.flush()
        for position, label in enumerate(options, start=1):
            ctx.session.add(PollOption(poll_id=row.id, position=position, label=label, votes=0))
        await ctx.session.flush()
        poll = await store.poll_by_id(ctx.session, row.id)
        assert poll is not None
        if closes_at is not None:
            await ctx.schedule(NAME, "close", closes_at, job_id(poll), poll_id=poll.id)
        text, buttons, spec = self._view(ctx, poll, Tally(options, (0,) * len(options)))
        ctx.reply(text, buttons, key=message_key(poll), poll=spec)

    async def _find(self, ctx: Context, number: int) -> PollState:
        poll = await store.poll_by_number(ctx.session, ctx.initiative.id, number)
        if poll is None:
            raise UserError(_("There is no poll #{number} here.").format(number=number))
        return poll

    def _voter_key(self, poll: PollState | Poll, user_id: int) -> str:
        return self._anonymous_key(poll.id, user_id) if poll.anonymous else _named_key(user_id)

    def _anonymous_key(self, poll_id: int, user_id: int) -> str:
        return "a:" + hmac.new(self._ballot_key, f"{poll_id}:{user_id}".encode(), hashlib.sha256).hexdigest()[:40]

    async def _cast(self, ctx: Context, poll_id: int, position: int, confirm: Callable[[str], None]) -> None:
        """One vote: the poll and the voter's ballot (one query), the running counts, the ballot, the
        counts to show. Nothing here grows with the number of ballots."""
        named, anonymous = _named_key(ctx.user_id), self._anonymous_key(poll_id, ctx.user_id)
        found = await store.poll_with_ballot(ctx.session, poll_id, named, anonymous)
        if found is None or found[0].initiative_id != ctx.initiative.id:
            raise UserError(_("This button is not valid any more. Send /help to start again."))
        poll, current = found
        if not poll.is_open:
            raise UserError(
                _("Poll #{number} is closed; its result is final. Send /results {number} to see it.").format(
                    number=poll.number
                )
            )
        if current is not None and current.position == position:
            label = (await store.tally(ctx.session, poll.id)).labels[position - 1]
            confirm(_("You already voted “{option}” in poll #{number}.").format(option=label, number=poll.number))
            return
        # An anonymous ballot carries nothing that follows the voter: no user id, the poll's own creation
        # time instead of when it was cast, and a random id instead of the next one in line (an order
        # that could be matched against who spoke when).
        now = poll.created_at if poll.anonymous else datetime.now(UTC)
        ballot: dict[str, Any] = {"poll_id": poll.id, "position": position, "cast_at": now,
                                     "voter_key": anonymous if poll.anonymous else named, "superseded_at": None}
        if poll.anonymous:
            ballot.update(id=secrets.randbelow(2**31 - 2) + 1, voter_user_id=None)
        else:
            ballot.update(voter_user_id=ctx.user_id)
        tally = await store.vote(ctx.session, poll.id, position, current, ballot, now)
        if tally is None:
            count = len((await store.tally(ctx.session, poll.id)).labels)
            raise UserError(_("Poll #{number} has options 1 to {count}.").format(number=poll.number, count=count))
        label = tally.labels[position - 1]
        if current is None:
            confirm(_("Your vote “{option}” in poll #{number} is counted.").format(option=label, number=poll.number))
        else:
            changed = _("You changed your vote in poll #{number} to “{option}”.")
            confirm(changed.format(option=label, number=poll.number))
        text, buttons, spec = self._view(ctx, poll, tally)
        ctx.edit(message_key(poll), text, buttons, poll=spec)

    async def _refresh(self, ctx: Context, poll: PollState) -> None:
        text, buttons, spec = self._view(ctx, poll, await store.tally(ctx.session, poll.id))
        ctx.edit(message_key(poll), text, buttons, poll=spec)

    def _title(self, poll: PollState) -> str:
        return _("Poll #{number}: {question}").format(number=poll.number, question=poll.question)

    def _view(self, ctx: Context, poll: PollState, tally: Tally) -> tuple[str, tuple[Button, ...], PollSpec]:
        lines = [self._title(poll), *tally_lines(tally)]
        status = [votes(tally.total)]
        if poll.anonymous:
            status.append(_("anonymous"))
        if poll.is_open:
            if poll.closes_at is not None:
                status.append(_("closes {when}").format(when=ctx.format_datetime(poll.closes_at, "short")))
            lines.append(" · ".join(status))
            lines.append(
                _("Vote with the buttons or with /vote {number} <option number>.").format(number=poll.number)
            )
        else:
            lines.append(" · ".join([*status, _("closed")]))
            lines.append(result_line(tally))
        options = tuple(
            ctx.button(f"{label} ({count})", NAME, "v", poll.id, position)
            for position, (label, count) in enumerate(zip(tally.labels, tally.counts, strict=True), start=1)
        )
        spec = PollSpec(poll.question, options, closed=not poll.is_open)
        return "\n".join(lines), (options if poll.is_open else ()), spec

    async def _close(self, ctx: Context, poll: PollState, by_deadline: bool = False) -> None:
        now = datetime.now(UTC)
        tally = await store.close(ctx.session, poll, now)
        poll = replace(poll, closed_at=now)
        await ctx.record_outcome(
            "poll",
            poll.question,
            {
                "options": [
                    {"label": label, "votes": count} for label, count in zip(tally.labels, tally.counts, strict=True)
                ],
                "total_votes": tally.total,
                "winners": list(tally.winners),
                "anonymous": poll.anonymous,
                "closed_by": "deadline" if by_deadline else "hand",
                "poll_number": poll.number,
            },
            decided_at=now,
        )
        if not by_deadline:
            await ctx.unschedule(job_id(poll))
        text, buttons, spec = self._view(ctx, poll, tally)
        ctx.edit(message_key(poll), text, buttons, poll=spec)
        lines = [
            _("Poll #{number} is closed: {question}").format(number=poll.number, question=poll.question),
            *tally_lines(tally),
            result_line(tally),
            _("The result has been recorded for the public administration."),
        ]
        ctx.reply("\n".join(lines))
