"""A poll as the chat sees it: the live message with its buttons, results, a voter's choice in words, the
reasons given on a proposal and the alert a block raises. Callers choose the language (``ctx.for_group``
for what the group reads)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select

from bot.context import Context
from bot.events import Button, PollSpec, Reply
from bot.i18n import _, format_list, quoted
from bot.roles import Role
from interlinkers.polls import _kinds as kinds
from interlinkers.polls import _render as render
from interlinkers.polls import _store as store
from interlinkers.polls._kinds import Choice, Count, Kind
from interlinkers.polls._render import Tally
from interlinkers.polls._shared import NAME, title
from interlinkers.polls._store import PollState, StoredBallot
from interlinkers.polls.methods import Result
from interlinkers.polls.methods._result import best
from storage.models import Membership, User


def view(ctx: Context, poll: PollState, tally: Tally, voters: int) -> tuple[str, tuple[Button, ...], PollSpec | None]:
    """The poll's own message: text, buttons while open, and a native poll where the kind fits one."""
    hidden = poll.hidden and poll.is_open
    lines = [title(poll), *render.tally_lines(poll.kind, tally, voters, hidden)]
    status = [render.participation(poll.kind, tally, voters)]
    status += render.rules_line(poll.kind, poll.choice_limit, poll.hidden, poll.quorum, poll.quorum_percent,
                                poll.open_options)
    if poll.anonymous:
        status.append(_("anonymous"))
    names = render.labels(poll.kind, tally)
    if poll.is_open:
        if poll.closes_at is not None:
            status.append(_("closes {when}").format(when=ctx.format_datetime(poll.closes_at, "short")))
        lines.append(" · ".join(status))
        lines.append(render.how_to_vote(poll.kind, poll.number, poll.choice_limit))
    else:
        lines.append(" · ".join([*status, _("closed")]))
        if poll.outcome == "no_quorum":
            lines.append(_("Closed without quorum."))
        elif poll.kind is not Kind.RANKED:
            lines.extend(render.result_lines(poll.kind, tally, totals_count(poll, tally, voters), poll.outcome,
                                             None, voters))
        if poll.statement:
            lines.append(_("Outcome: {statement}").format(statement=poll.statement))
    options = tuple(
        ctx.button(label if hidden or poll.kind is Kind.RANKED else f"{label} ({count})", NAME, "v", poll.id, position)
        for position, (label, count) in enumerate(zip(names, tally.counts, strict=True), start=1)
    )
    # A network's own poll shows counts, so it fits only open single-choice polls whose results are shown.
    spec = PollSpec(poll.question, options, closed=not poll.is_open) if poll.kind is Kind.SINGLE and not (
        poll.hidden) else None
    return "\n".join(lines), (options if poll.is_open else ()), spec


def totals_count(poll: PollState, tally: Tally, voters: int) -> Count:
    """The result from the running figures, for every kind but ranked (which needs whole rankings)."""
    totals = tuple(float(c) for c in tally.counts)
    main = Result(totals, best(totals), voters)
    if poll.kind is Kind.CONSENT:
        return Count(main, stances=kinds.consent.Consent(*tally.counts))
    return Count(main)


async def results(ctx: Context, poll: PollState, tally: Tally, voters: int) -> list[str]:
    """/results: the figures, participation and the result so far (or on record), by the poll's method."""
    ballots: list[StoredBallot] = []
    if poll.kind is Kind.RANKED or poll.kind is Kind.CONSENT:
        ballots = await store.current_ballots(ctx.session, poll)
    count = (kinds.count(poll.rules(len(tally.labels)), (b.choice for b in ballots)) if poll.kind is Kind.RANKED
             else totals_count(poll, tally, voters))
    needed = kinds.required(poll.quorum, poll.quorum_percent, await members(ctx)) if not poll.is_open else None
    lines = [*render.tally_lines(poll.kind, tally, voters), render.participation(poll.kind, tally, voters)]
    if not poll.is_open:
        lines += render.result_lines(poll.kind, tally, count, poll.outcome, needed, voters)
    elif poll.kind is Kind.RANKED and voters:
        lines += [_("If the poll closed now:"), *render.result_lines(poll.kind, tally, count, None, None, voters)]
    lines += await reasons(ctx, poll, ballots)
    if poll.statement:
        lines.append(_("Outcome: {statement}").format(statement=poll.statement))
    return lines


def result_of(poll: PollState, tally: Tally, count: Count, needed: int | None, voters: int) -> list[str]:
    return render.result_lines(poll.kind, tally, count, poll.outcome, needed, voters)


async def choice_text(ctx: Context, poll: PollState, choice: Choice, tally: Tally | None = None) -> str:
    """A ballot in words, for its voter: "“Park”", "1. Park, 2. Library", "Park 5, Library 3"."""
    if tally is None:
        tally = await store.tally(ctx.session, poll.id)
    names = render.labels(poll.kind, tally)
    if poll.kind in (Kind.SCORE, Kind.DOTS):
        given = [f"{names[i]} {value}" for i, value in enumerate(choice) if value]
        return ", ".join(given) if given else _("nothing")
    if not choice:
        return _("nothing")
    if poll.kind is Kind.RANKED:
        return ", ".join(f"{rank}. {names[option - 1]}" for rank, option in enumerate(choice, start=1))
    return format_list([quoted(names[option - 1]) for option in choice])


async def reasons(ctx: Context, poll: PollState, ballots: Sequence[StoredBallot]) -> list[str]:
    """A proposal's reasons, each with its stance (and, in a named poll, who gave it)."""
    given = [b for b in ballots if b.reason]
    if poll.kind is not Kind.CONSENT or not given:
        return []
    names = await ctx.names([b.voter for b in given if b.voter is not None]) if not poll.anonymous else {}
    lines = [_("Reasons given:")]
    for ballot in given:
        stance = kinds.stance_label(kinds.STANCES[ballot.choice[0] - 1])
        who = names.get(ballot.voter) if ballot.voter is not None else None
        lines.append(f"• {stance} ({who}): {ballot.reason}" if who else f"• {stance}: {ballot.reason}")
    return lines


async def block_alert(ctx: Context, poll: PollState, reason: str | None) -> None:
    """A block stops a proposal, so the organisers hear of it at once: in the group, and each of them in
    their private chat (held until they open one, when they have not yet)."""
    organisers = (await ctx.session.execute(
        select(User.id, User.display_name).join(Membership, Membership.user_id == User.id)
        .where(Membership.initiative_id == ctx.initiative.id, Membership.role >= Role.ORGANISER)
        .order_by(User.display_name))).all()
    who = ctx.user.display_name if ctx.user is not None and not poll.anonymous else None
    names = [name for _id, name in organisers]

    def said() -> str:
        text = (_("{name} blocks proposal #{number}.").format(name=who, number=poll.number) if who
                else _("Someone blocks proposal #{number}.").format(number=poll.number))
        return text + ("\n" + _("Reason: {reason}").format(reason=reason) if reason else "")

    with ctx.for_group():
        text = said()
        if names:
            text += "\n" + _("Organisers ({names}): one block stops the proposal unless it is resolved.").format(
                names=format_list(names))
        ctx.reply(text)
    group = ctx.initiative.name
    for user_id, _name in organisers:
        if ctx.user is not None and user_id == ctx.user.id:
            continue
        await ctx.direct(user_id, lambda _person: [Reply("\n".join([
            _("In “{group}”:").format(group=group), said(),
            _("One block stops the proposal unless it is resolved."),
        ]))], hold=True)


async def members(ctx: Context) -> int:
    found = await ctx.session.scalar(select(func.count()).select_from(Membership)
                                     .where(Membership.initiative_id == ctx.initiative.id))
    return int(found or 0)
