"""Looking after polls once they exist: list the open ones, extend, reopen, delete an unused one, add an
option, remind the group, and let a voter see their own ballot and its receipt."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from babel.dates import format_timedelta
from sqlalchemy import select

from bot.context import Context
from bot.errors import UserError
from bot.i18n import N_, _, current_locale, format_list
from bot.interlinker import button, command, job
from interlinkers.polls import _store as store
from interlinkers.polls import _view as show
from interlinkers.polls._kinds import Kind
from interlinkers.polls._parsing import MAX_OPTIONS, check_options, parse_deadline, parse_poll_number
from interlinkers.polls._render import how_to_vote, voters
from interlinkers.polls._shared import (
    NAME,
    closed_error,
    find,
    message_key,
    named_key,
    participants,
    schedule_deadline,
    title,
)
from interlinkers.polls._store import PollState
from storage import ledger
from storage.models import Membership, Outcome, User

if TYPE_CHECKING:
    from interlinkers.polls._models import Poll


class Management:
    """Mixed into ``Polls``; uses its ``voter_key`` and ``refresh``."""

    def voter_key(self, poll: PollState | Poll, user_id: int) -> str:
        raise NotImplementedError

    async def refresh(self, ctx: Context, poll: PollState) -> None:
        raise NotImplementedError

    @command("polls", help=N_("List the open polls of this chat"))
    async def list_polls(self, ctx: Context, args: str) -> None:
        polls = await store.open_polls(ctx.session, ctx.chat.platform, ctx.chat.chat_id)
        if not polls:
            ctx.reply(_("There are no open polls here. Start one with /poll."))
            return
        lines = [_("Open polls:")]
        for poll in polls:
            count = await store.voters(ctx.session, poll.id)
            when = (_("closes {when}").format(when=ctx.format_datetime(poll.closes_at, "short"))
                    if poll.closes_at else _("no deadline"))
            lines.append(f"• {title(poll)} ({voters(count)}, {when})")
        ctx.reply("\n".join(lines))

    @command("extend", help=N_("Change when a poll closes (creator or organiser)"),
             usage=N_("<poll number> <when: in 2 days, tomorrow 18:00...>"))
    async def extend(self, ctx: Context, args: str) -> None:
        number, _sep, when = args.strip().partition(" ")
        poll = await find(ctx, parse_poll_number(number, "extend"))
        ctx.authorize(owner_id=poll.creator_id)
        if not poll.is_open:
            raise UserError(_("Poll #{number} is closed. To open it again, send /reopen {number}.").format(
                number=poll.number))
        if not when.strip():
            raise UserError(_("Write the poll number and the new closing time, for example: /extend 3 in 2 days"))
        closes_at = parse_deadline(when, ctx.tz)
        await store.extend(ctx.session, poll.id, closes_at)
        poll = replace(poll, closes_at=closes_at)
        await schedule_deadline(ctx, poll)
        await self.refresh(ctx, poll)
        with ctx.for_group():
            ctx.reply(_("Poll #{number} now closes {when}.").format(
                number=poll.number, when=ctx.format_datetime(closes_at, "short")))

    @command("reopen", help=N_("Open a closed poll again; the reopening is recorded (creator or organiser)"),
             usage=N_("<poll number> [closes …]"))
    async def reopen(self, ctx: Context, args: str) -> None:
        number, _sep, when = args.strip().partition(" ")
        poll = await find(ctx, parse_poll_number(number, "reopen"))
        ctx.authorize(owner_id=poll.creator_id)
        if poll.is_open:
            raise UserError(_("Poll #{number} is still open.").format(number=poll.number))
        words = when.strip().split(" ", 1)
        closes_at = parse_deadline(words[-1] if len(words) > 1 else when, ctx.tz) if when.strip() else None
        await store.reopen(ctx.session, poll.id, closes_at)
        await ctx.record_outcome("poll_reopened", poll.question, {
            "poll_number": poll.number, "previous_outcome": poll.outcome, "closed_at": poll.closed_at.isoformat()
            if poll.closed_at else None, "closes_at": closes_at.isoformat() if closes_at else None})
        poll = replace(poll, closed_at=None, outcome=None, statement=None, closes_at=closes_at)
        await schedule_deadline(ctx, poll)
        tally = await store.tally(ctx.session, poll.id)
        count = await participants(ctx, poll, tally)
        with ctx.for_group():
            text, buttons, spec = show.view(ctx, poll, tally, count)
            ctx.reply(_("Poll #{number} is open again; its earlier result no longer stands. The reopening is "
                        "recorded for the public administration.").format(number=poll.number))
        ctx.reply(text, buttons, key=message_key(poll), poll=spec)

    @command("delete", help=N_("Delete a poll nobody has voted in (creator or organiser)"), usage=N_("<poll number>"))
    async def delete(self, ctx: Context, args: str) -> None:
        poll = await find(ctx, parse_poll_number(args, "delete"))
        ctx.authorize(owner_id=poll.creator_id)
        if await store.ever_voted(ctx.session, poll.id):
            raise UserError(_("Poll #{number} has votes, so it cannot be deleted; close it instead with /close "
                              "{number}.").format(number=poll.number))
        poll = replace(poll, closes_at=None)
        await schedule_deadline(ctx, poll)
        await store.delete(ctx.session, poll.id)
        with ctx.for_group():
            ctx.edit(message_key(poll), _("Poll #{number} was deleted.").format(number=poll.number))
            ctx.reply(_("Poll #{number} was deleted.").format(number=poll.number))

    @command("addoption", help=N_("Add an option to an open poll (anyone, if the poll allows it)"),
             usage=N_("<poll number> <option>"))
    async def add_option(self, ctx: Context, args: str) -> None:
        number, _sep, label = args.strip().partition(" ")
        poll = await find(ctx, parse_poll_number(number, "addoption"))
        if not poll.open_options:
            ctx.authorize(owner_id=poll.creator_id)
        if not poll.is_open:
            raise closed_error(poll)
        if poll.kind is Kind.CONSENT:
            raise UserError(_("A proposal's answers are fixed: agree, abstain, disagree or block."))
        tally = await store.tally(ctx.session, poll.id)
        if len(tally.labels) >= MAX_OPTIONS:
            raise UserError(_("A poll can have at most {maximum} options; you gave {count}.").format(
                maximum=MAX_OPTIONS, count=len(tally.labels) + 1))
        (option,) = check_options([*tally.labels, label])[-1:]
        await store.add_option(ctx.session, poll.id, len(tally.labels) + 1, option)
        await self.refresh(ctx, poll)
        with ctx.for_group():
            ctx.reply(_("Option {position} “{option}” was added to poll #{number}.").format(
                position=len(tally.labels) + 1, option=option, number=poll.number))

    @command("remind", help=N_("Remind the members who have not voted yet (creator or organiser)"),
             usage=N_("<poll number>"))
    async def remind(self, ctx: Context, args: str) -> None:
        poll = await find(ctx, parse_poll_number(args, "remind"))
        ctx.authorize(owner_id=poll.creator_id)
        if not poll.is_open:
            raise closed_error(poll)
        people = await _people(ctx)
        ballots = await store.current_ballots(ctx.session, poll)
        with ctx.for_group():
            if poll.anonymous:
                # Who voted is not known, and must not be guessable: everyone is called alike.
                names = [name for _id, name in people]
                text = _("Reminder for poll #{number}: {voted} of {members} members have voted. {names}: if you "
                         "have not voted yet, please do.").format(
                    number=poll.number, voted=len(ballots), members=len(people), names=format_list(names))
            else:
                voted = {ballot.voter for ballot in ballots}
                missing = [name for user_id, name in people if user_id is None or user_id not in voted]
                if not missing:
                    ctx.reply(_("Everyone I know in this group has voted in poll #{number}.").format(
                        number=poll.number))
                    return
                text = _("Reminder for poll #{number}: {names}, your vote is missing.").format(
                    number=poll.number, names=format_list(missing))
            ctx.reply(text + "\n" + how_to_vote(poll.kind, poll.number, poll.choice_limit))

    @job("remind")
    async def remind_job(self, ctx: Context, poll_id: int, closes_at: str) -> None:
        """The deadline reminder: in the group, how many have voted and how long is left."""
        poll = await store.poll_by_id(ctx.session, poll_id)
        if poll is None or not poll.is_open or poll.closes_at is None:
            return
        if poll.closes_at.isoformat() != closes_at:  # moved since: its own reminders are scheduled
            return
        count = await store.voters(ctx.session, poll.id)
        left = format_timedelta(poll.closes_at - datetime.now(UTC), threshold=1.5, add_direction=True,
                                locale=current_locale())
        ctx.reply("\n".join([
            _("{title} closes {left} ({when}); {voters} so far.").format(
                title=title(poll), left=left, when=ctx.format_datetime(poll.closes_at, "short"),
                voters=voters(count)),
            how_to_vote(poll.kind, poll.number, poll.choice_limit),
        ]))

    @command("myballot", help=N_("See your ballot in a poll and its receipt"), usage=N_("<poll number>"))
    async def my_ballot(self, ctx: Context, args: str) -> None:
        poll = await find(ctx, parse_poll_number(args, "myballot"))
        if ctx.chat.is_private:
            ctx.reply(await self._ballot_text(ctx, poll))
            return
        # In a group the ballot is shown only to the person who presses (a private answer where the
        # network has one), never in the chat.
        ctx.reply(_("Press the button to see your ballot in poll #{number}.").format(number=poll.number),
                  (ctx.button(_("My ballot in poll #{number}").format(number=poll.number), NAME, "b", poll.id),))

    @button("b")
    async def my_ballot_button(self, ctx: Context, poll_id: str) -> None:
        poll = await store.poll_by_id(ctx.session, int(poll_id))
        if poll is None or poll.initiative_id != ctx.initiative.id:
            raise UserError(_("This button is not valid any more. Send /help to start again."))
        ctx.notice(await self._ballot_text(ctx, poll))

    async def _ballot_text(self, ctx: Context, poll: PollState) -> str:
        found = await store.poll_with_ballot(ctx.session, poll.id, named_key(ctx.user_id),
                                             self.voter_key(replace(poll, anonymous=True), ctx.user_id))
        current = found[1] if found else None
        if current is None:
            return _("You have no vote in poll #{number}.").format(number=poll.number)
        said = await show.choice_text(ctx, poll, current.of(poll.kind))
        lines = [_("Your vote in poll #{number}: {choice}.").format(number=poll.number, choice=said)]
        if current.receipt:
            lines.append(_("Your ballot's receipt is {receipt}. Once the poll is closed, its exported ballots "
                           "list it with your choice and without your name, so you can check it was counted.")
                         .format(receipt=current.receipt))
            sealed = await _sealed_in(ctx, poll) if not poll.is_open else None
            if sealed is not None:
                lines.append(_("The poll's ballots are sealed in entry {entry} of the initiative's ledger "
                               "(fingerprint {fingerprint}). In its verification bundle, "
                               "interlink verify BUNDLE --receipt {receipt} finds yours.").format(
                    entry=sealed[0], fingerprint=sealed[1][:16], receipt=current.receipt))
        return "\n".join(lines)


async def _sealed_in(ctx: Context, poll: PollState) -> tuple[int, str] | None:
    """The ledger entry (its number) of the poll's last close, and the fingerprint of the ballots it seals."""
    closes = (await ctx.session.scalars(select(Outcome).where(
        Outcome.initiative_id == ctx.initiative.id, Outcome.kind == "poll").order_by(Outcome.id.desc()))).all()
    for outcome in closes:
        result = outcome.payload["result"]
        if result.get("poll_number") == poll.number and result.get("ballots_sha256"):
            entry = await ledger.entry_of_outcome(ctx.session, outcome.uid)
            return (entry.seq, str(result["ballots_sha256"])) if entry is not None else None
    return None


async def _people(ctx: Context) -> list[tuple[int | None, str]]:
    """Whom a reminder names: the members the bot knows, and on a network that lists a chat's members
    (Matrix) everyone in it, those who never spoke too (id None: they have not voted) and none who left."""
    known = (await ctx.session.execute(
        select(User.id, User.display_name, User.platform_user_id).join(Membership, Membership.user_id == User.id)
        .where(Membership.initiative_id == ctx.initiative.id))).all()
    present = ctx.chat_members()
    if present is None:
        people: list[tuple[int | None, str]] = [(user_id, name) for user_id, name, _pid in known]
    else:
        by_platform_id = {pid: (user_id, name) for user_id, name, pid in known}
        people = [by_platform_id.get(member.user_id, (None, member.display_name)) for member in present]
    return sorted(people, key=lambda person: person[1].casefold())
