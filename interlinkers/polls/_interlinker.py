"""Polls and decisions: create (single, multiple, ranked, score, dots, proposals), vote (buttons, /vote,
native polls), close by hand or at a deadline, with an optional quorum and outcome statement.

Closing writes the outcome in the same transaction, so what the PA side receives is exactly what the
group saw decided. What the whole group reads is in the group's language (``ctx.for_group``), whoever
acted; confirmations for one person are in that person's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Select, String, cast, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.buttons import PayloadError
from bot.context import Context
from bot.errors import PermissionDenied, UserError
from bot.i18n import N_, _
from bot.interlinker import Catalogue, Interlinker, LedgerCheck, button, command, job
from bot.jobs import schedule
from bot.panels import Export, Panel, Scope
from bot.roles import Role
from bot.services import Services
from interlinkers.polls import _dashboard as dashboard
from interlinkers.polls import _kinds as kinds
from interlinkers.polls import _ledger as ledger_evidence
from interlinkers.polls import _store as store
from interlinkers.polls import _view as show
from interlinkers.polls._dialog import CreateDialog
from interlinkers.polls._export import COMMANDS, ballot_rows, ballots_digest
from interlinkers.polls._kinds import Kind
from interlinkers.polls._manage import Management
from interlinkers.polls._models import Ballot, Poll, PollOption
from interlinkers.polls._parsing import PollDraft, parse_poll, parse_poll_number, parse_proposal
from interlinkers.polls._render import Tally, tally_lines
from interlinkers.polls._render import voters as _voters
from interlinkers.polls._settings import SETTINGS
from interlinkers.polls._shared import (
    NAME,
    closed_error,
    find,
    job_id,
    message_key,
    named_key,
    participants,
    schedule_deadline,
    title,
    unschedule_reminders,
)
from interlinkers.polls._store import PollState


class Polls(CreateDialog, Management, Interlinker):
    name = NAME
    catalogue = Catalogue(
        title=N_("Polls and decisions"),
        description=N_("Ask the group a question and record the decision for the public administration."),
        problem_profiles=("ORG_PROBLEM_11", "ORG_PROBLEM_4"),
        targets=("citizens", "public_administrations", "nonprofit"),
        licence="EUPL-1.2",
    )
    migrations = Path(__file__).resolve().parent / "migrations"
    settings = SETTINGS
    cli = COMMANDS

    def __init__(self, services: Services) -> None:
        super().__init__(services)
        self._ballot_key = hashlib.sha256(("anonymous-ballots:" + services.settings.secret).encode()).digest()

    # --- commands ----------------------------------------------------------------------------------

    @command("poll", help=N_("Start a poll (alone: I ask step by step)"),
             usage=N_("<question> | <option> | <option> [| closes in 2 hours | anonymous | ranked ...]"))
    async def poll(self, ctx: Context, args: str) -> None:
        await self._may_create(ctx)
        if not args:
            await self.start_create(ctx)
            return
        await self.create(ctx, parse_poll(args, ctx.tz))

    @command("propose", help=N_("Make a proposal the group answers by consent: agree, abstain, disagree or block"),
             usage=N_("<proposal> [| closes in 2 days | anonymous | quorum 5]"))
    async def propose(self, ctx: Context, args: str) -> None:
        await self._may_create(ctx)
        if not args.strip():
            raise UserError(_("Write the proposal after the command, for example: /propose We paint the bench "
                              "green | closes in 2 days"))
        await self.create(ctx, parse_proposal(args, ctx.tz))

    @command("vote", help=N_("Vote in a poll"), usage=N_("<poll number> <your choice>"))
    async def vote(self, ctx: Context, args: str) -> None:
        number, _sep, rest = args.strip().partition(" ")
        try:
            poll_number = parse_poll_number(number, "vote")
        except UserError:
            raise UserError(_("Write the poll number and the option number, for example: /vote 3 2")) from None
        poll = await find(ctx, poll_number)
        options = len((await store.tally(ctx.session, poll.id)).labels)
        choice, reason = kinds.parse(poll.rules(options), rest)
        await self._cast(ctx, poll.id, choice=choice, reason=reason, typed=True)

    @command("close", help=N_("Close a poll and record its result (creator or organiser)"),
             usage=N_("<poll number> [outcome statement]"))
    async def close(self, ctx: Context, args: str) -> None:
        number, _sep, statement = args.strip().partition(" ")
        poll = await find(ctx, parse_poll_number(number, "close"))
        ctx.authorize(owner_id=poll.creator_id)
        if not poll.is_open:
            raise UserError(_("Poll #{number} is already closed.").format(number=poll.number))
        statement = " ".join(statement.split())
        if len(statement) > kinds.MAX_REASON:
            raise UserError(_("The outcome statement is {length} characters long; the limit is {limit}.").format(
                length=len(statement), limit=kinds.MAX_REASON))
        await self._close(ctx, poll, statement=statement or None)

    @command("results", help=N_("Show the votes of a poll so far"), usage=N_("<poll number>"))
    async def results(self, ctx: Context, args: str) -> None:
        poll = await find(ctx, parse_poll_number(args, "results"))
        tally = await store.tally(ctx.session, poll.id)
        voters = await store.voters(ctx.session, poll.id)
        if poll.is_open and poll.hidden:
            ctx.reply(_("The results of poll #{number} are hidden until it closes; {voters} so far.").format(
                number=poll.number, voters=_voters(voters)))
            return
        lines = [title(poll), *await show.results(ctx, poll, tally, voters)]
        ctx.reply("\n".join(lines))

    # --- buttons, native polls, jobs ---------------------------------------------------------------

    @button("v")
    async def vote_button(self, ctx: Context, poll_id: str, position: str) -> None:
        await self._cast(ctx, int(poll_id), pressed=int(position))

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
            if await store.withdraw(ctx.session, poll, self.voter_key(poll, ctx.user_id), at):
                await self.refresh(ctx, poll)
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

    # --- the PA side (``_dashboard``) --------------------------------------------------------------------

    def activity(self) -> list[Select[Any]]:
        return dashboard.activity()

    async def panels(self, session: AsyncSession, scope: Scope) -> list[Panel]:
        return await dashboard.panels(session, scope)

    async def digest(self, session: AsyncSession, scope: Scope) -> list[str]:
        return await dashboard.digest(session, scope)

    async def exports(self, session: AsyncSession, initiative_id: int) -> list[Export]:
        return await dashboard.exports(session, initiative_id, self.services.settings.secret)

    async def ledger_evidence(self, session: AsyncSession, initiative_id: int) -> dict[str, bytes]:
        return await ledger_evidence.evidence(session, initiative_id)

    @classmethod
    def check_ledger(cls, entries: Sequence[dict[str, Any]], files: Mapping[str, bytes]) -> LedgerCheck:
        return ledger_evidence.check(entries, files)

    @classmethod
    def find_receipt(cls, receipt: str, files: Mapping[str, bytes]) -> list[str]:
        return ledger_evidence.find_receipt(receipt, files)

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
        since a deleted id may be given to someone else later), and a proposal's reason goes with them."""
        now = datetime.now(UTC)
        for row in await session.scalars(select(Poll.id).where(Poll.closed_at.is_(None))):
            poll = await store.poll_by_id(session, row)
            assert poll is not None
            await store.withdraw(session, poll, self.voter_key(poll, user_id),
                                 poll.created_at if poll.anonymous else now)
        await session.execute(update(Poll).where(Poll.creator_id == user_id).values(creator_id=None))
        await session.execute(
            update(Ballot)
            .where(Ballot.voter_user_id == user_id)
            .values(voter_user_id=None, voter_key=literal("erased:") + cast(Ballot.id, String), reason=None)
        )
        await session.execute(
            update(Ballot)
            .where(Ballot.voter_key == named_key(user_id))
            .values(voter_key=literal("erased:") + cast(Ballot.id, String), reason=None)
        )

    # --- internals ---------------------------------------------------------------------------------

    async def create(self, ctx: Context, draft: PollDraft) -> None:
        row = Poll(
            initiative_id=ctx.initiative.id,
            number=await ctx.next_number(NAME),
            question=draft.question,
            creator_id=ctx.user_id,
            platform=ctx.chat.platform,
            chat_id=ctx.chat.chat_id,
            anonymous=draft.anonymous,
            closes_at=draft.closes_at,
            kind=draft.kind.value,
            choice_limit=draft.limit,
            hidden=draft.hidden,
            quorum=draft.quorum,
            quorum_percent=draft.quorum_percent,
            open_options=draft.open_options,
        )
        ctx.session.add(row)
        await ctx.session.flush()
        for position, label in enumerate(draft.options, start=1):
            ctx.session.add(PollOption(poll_id=row.id, position=position, label=label, votes=0))
        await ctx.session.flush()
        poll = await store.poll_by_id(ctx.session, row.id)
        assert poll is not None
        await schedule_deadline(ctx, poll)
        tally = Tally(draft.options, (0,) * len(draft.options))
        with ctx.for_group():
            text, buttons, spec = show.view(ctx, poll, tally, 0)
        ctx.reply(text, buttons, key=message_key(poll), poll=spec)

    async def _may_create(self, ctx: Context) -> None:
        if await ctx.setting("pollcreators", "members") == "organisers" and ctx.role < Role.ORGANISER:
            raise PermissionDenied(_("In this group only organisers start polls and proposals."))

    def voter_key(self, poll: PollState | Poll, user_id: int) -> str:
        return self._anonymous_key(poll.id, user_id) if poll.anonymous else named_key(user_id)

    def _anonymous_key(self, poll_id: int, user_id: int) -> str:
        return "a:" + hmac.new(self._ballot_key, f"{poll_id}:{user_id}".encode(), hashlib.sha256).hexdigest()[:40]

    async def _cast(self, ctx: Context, poll_id: int, *, pressed: int | None = None,
                    choice: kinds.Choice | None = None, reason: str | None = None, typed: bool = False) -> None:
        """One vote: the poll and the voter's ballot (one query), the running figures, the ballot, the
        figures to show. Nothing here grows with the number of ballots."""
        confirm = ctx.reply if typed else ctx.notice
        named, anonymous = named_key(ctx.user_id), self._anonymous_key(poll_id, ctx.user_id)
        found = await store.poll_with_ballot(ctx.session, poll_id, named, anonymous)
        if found is None or found[0].initiative_id != ctx.initiative.id:
            raise UserError(_("This button is not valid any more. Send /help to start again."))
        poll, current = found
        if not poll.is_open:
            raise closed_error(poll)
        rules = None  # a typed single choice needs none: the counts' update finds a wrong option
        if poll.kind is not Kind.SINGLE:
            rules = poll.rules(len((await store.tally(ctx.session, poll.id)).labels))
        if choice is None:
            assert pressed is not None
            choice = ((pressed,) if rules is None
                      else kinds.press(rules, current.of(poll.kind) if current else None, pressed))
        before = current.of(poll.kind) if current is not None else None
        if before == choice and (reason is None or reason == current.reason if current else True):
            confirm(_("Your vote in poll #{number} is unchanged: {choice}.").format(
                number=poll.number, choice=await show.choice_text(ctx, poll, choice)))
            return
        # An anonymous ballot carries nothing that follows the voter: no user id, the poll's own creation
        # time instead of when it was cast, and a random id instead of the next one in line (an order
        # that could be matched against who spoke when).
        now = poll.created_at if poll.anonymous else datetime.now(UTC)
        position, text = kinds.encode(poll.kind, choice)
        ballot: dict[str, Any] = {
            "poll_id": poll.id, "position": position, "cast_at": now, "superseded_at": None, "choice": text,
            "voter_key": anonymous if poll.anonymous else named, "reason": reason,
            "receipt": current.receipt if current is not None and current.receipt else _receipt(),
        }
        if poll.anonymous:
            ballot.update(id=secrets.randbelow(2**31 - 2) + 1, voter_user_id=None)
        else:
            ballot.update(voter_user_id=ctx.user_id)
        if poll.kind.positional:
            tally = await store.vote(ctx.session, poll.id, position, current, ballot, now)
            if tally is None:
                count = len((await store.tally(ctx.session, poll.id)).labels)
                raise UserError(_("Poll #{number} has options 1 to {count}.").format(number=poll.number, count=count))
        else:
            assert rules is not None
            tally = await store.vote_figures(ctx.session, rules, poll.id, choice, current, ballot, now)
        said = await show.choice_text(ctx, poll, choice, tally)
        if current is None:
            confirm(_("Your vote in poll #{number} is counted: {choice}.").format(number=poll.number, choice=said))
        else:
            confirm(_("You changed your vote in poll #{number}: {choice}.").format(number=poll.number, choice=said))
        voters = await participants(ctx, poll, tally)
        with ctx.for_group():
            text_, buttons, spec = show.view(ctx, poll, tally, voters)
        if poll.kind is Kind.CONSENT and choice == (kinds.STANCES.index("block") + 1,) and before != choice:
            await show.block_alert(ctx, poll, reason)
        ctx.edit(message_key(poll), text_, buttons, poll=spec)

    async def refresh(self, ctx: Context, poll: PollState) -> None:
        tally = await store.tally(ctx.session, poll.id)
        voters = await participants(ctx, poll, tally)
        with ctx.for_group():
            text, buttons, spec = show.view(ctx, poll, tally, voters)
        ctx.edit(message_key(poll), text, buttons, poll=spec)

    async def _close(self, ctx: Context, poll: PollState, by_deadline: bool = False,
                     statement: str | None = None) -> None:
        now = datetime.now(UTC)
        tally = await store.close(ctx.session, poll, now, statement=statement)
        ballots = await store.current_ballots(ctx.session, poll)
        rules = poll.rules(len(tally.labels))
        count = kinds.count(rules, (ballot.choice for ballot in ballots))
        members = await show.members(ctx)
        needed = kinds.required(poll.quorum, poll.quorum_percent, members)
        outcome = kinds.outcome(poll.kind, count, len(ballots), needed)
        await store.set_outcome(ctx.session, poll.id, outcome)
        poll = replace(poll, closed_at=now, outcome=outcome, statement=statement)
        result: dict[str, Any] = {
            "kind": poll.kind.value,
            "options": [{"label": label, "votes": figure} for label, figure in zip(tally.labels, tally.counts,
                                                                                   strict=True)],
            "total_votes": len(ballots),
            "ballots_sha256": ballots_digest(ballot_rows(poll.kind, ballots)),
            "winners": [tally.labels[w - 1] for w in count.main.winners] if outcome in ("decided", "tie") else [],
            "outcome": outcome,
            "anonymous": poll.anonymous,
            "closed_by": "deadline" if by_deadline else "hand",
            "poll_number": poll.number,
            "quorum": {"needed": needed, "voters": len(ballots), "members": members} if needed else None,
            "statement": statement,
        }
        if poll.kind is Kind.MULTIPLE:
            result["at_most"] = poll.choice_limit
        if poll.kind is Kind.DOTS:
            result["dots"] = poll.choice_limit
        if count.schulze is not None:
            result["rounds"] = [[int(v) for v in r] for r in count.main.rounds]
            result["schulze_winners"] = [tally.labels[w - 1] for w in count.schulze.winners]
        if count.stances is not None:
            result["stances"] = {stance: getattr(count.stances, stance) for stance in kinds.STANCES}
            result["reasons"] = [{"stance": kinds.STANCES[b.choice[0] - 1], "reason": b.reason}
                                 for b in ballots if b.reason]
        await ctx.record_outcome("poll", poll.question, result, decided_at=now, seal=True)
        if not by_deadline:
            await ctx.unschedule(job_id(poll))
        await unschedule_reminders(ctx, poll)
        with ctx.for_group():
            text, buttons, spec = show.view(ctx, poll, tally, len(ballots))
            lines = [
                (_("Proposal #{number} is closed: {question}") if poll.kind is Kind.CONSENT
                 else _("Poll #{number} is closed: {question}")).format(number=poll.number, question=poll.question),
                *tally_lines(poll.kind, tally, len(ballots)),
                *show.result_of(poll, tally, count, needed, len(ballots)),
                *await show.reasons(ctx, poll, ballots),
                *([_("Outcome: {statement}").format(statement=statement)] if statement else []),
                _("The result has been recorded for the public administration."),
            ]
            ctx.edit(message_key(poll), text, buttons, poll=spec)
            ctx.reply("\n".join(lines))


def _receipt() -> str:
    """A ballot's random name: 10 characters a person can read out (no 0/O, 1/I confusion in base32)."""
    return base64.b32encode(secrets.token_bytes(5)).decode()[:8]

