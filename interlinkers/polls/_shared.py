"""What every part of the polls Interlinker needs: its name, keys, finding a poll, scheduling its jobs."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.context import Context
from bot.errors import UserError
from bot.i18n import _
from bot.when import MAX_LEADS, lead_times
from interlinkers.polls import _store as store
from interlinkers.polls._models import Poll
from interlinkers.polls._render import Tally
from interlinkers.polls._store import PollState

NAME = "polls"
MAX_REMINDERS = MAX_LEADS  # one job id per lead time the setting allows


def message_key(poll: PollState) -> str:
    return f"{NAME}:{poll.id}"


def job_id(poll: PollState | Poll) -> str:
    return f"{NAME}.close.{poll.id}"


def reminder_id(poll: PollState, index: int) -> str:
    return f"{NAME}.remind.{poll.id}.{index}"


def named_key(user_id: int) -> str:
    """A named poll's one-vote key (an anonymous poll's is a keyed hash: ``Polls._anonymous_key``)."""
    return f"u:{user_id}"


def title(poll: PollState) -> str:
    if poll.kind.value == "consent":
        return _("Proposal #{number}: {question}").format(number=poll.number, question=poll.question)
    return _("Poll #{number}: {question}").format(number=poll.number, question=poll.question)


async def find(ctx: Context, number: int) -> PollState:
    poll = await store.poll_by_number(ctx.session, ctx.initiative.id, number)
    if poll is None:
        raise UserError(_("There is no poll #{number} here.").format(number=number))
    return poll


def closed_error(poll: PollState) -> UserError:
    """What voting in, or changing, a closed poll answers."""
    return UserError(_("Poll #{number} is closed; its result is final. Send /results {number} to see it.").format(
        number=poll.number))


async def participants(ctx: Context, poll: PollState, tally: Tally) -> int:
    """How many have voted: the total of the running counts where a ballot is one vote, else a count."""
    return tally.total if poll.kind.positional else await store.voters(ctx.session, poll.id)


async def unschedule_reminders(ctx: Context, poll: PollState) -> None:
    for index in range(MAX_REMINDERS):
        await ctx.unschedule(reminder_id(poll, index))


async def schedule_deadline(ctx: Context, poll: PollState) -> None:
    """The closing job and the reminders the group chose (``/settings reminders``) still ahead; moved,
    not doubled, when the deadline changes."""
    await unschedule_reminders(ctx, poll)
    if poll.closes_at is None:
        await ctx.unschedule(job_id(poll))
        return
    await ctx.schedule(NAME, "close", poll.closes_at, job_id(poll), poll_id=poll.id)
    now = datetime.now(UTC)
    for index, before in enumerate(lead_times(await ctx.setting("reminders", "1d 1h"))):
        at = poll.closes_at - before
        # A reminder is worth sending only if it comes well after the poll was posted.
        if at > now + before / 4:
            await ctx.schedule(NAME, "remind", at, reminder_id(poll, index), poll_id=poll.id,
                               closes_at=poll.closes_at.isoformat())
