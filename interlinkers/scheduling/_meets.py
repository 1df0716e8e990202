"""Finding a date: ``/meet`` offers times, members answer yes / if need be / no (buttons or ``/answer``),
an organiser confirms one (``/confirm``) or the best is confirmed at the deadline, by the rule shown."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import delete, select

from bot.context import Context
from bot.errors import UserError
from bot.i18n import N_, _
from bot.interlinker import button, command, job
from bot.roles import Role
from interlinkers.scheduling import _view as view
from interlinkers.scheduling._events import Events
from interlinkers.scheduling._models import Answer, Meet, Slot
from interlinkers.scheduling._parsing import IF_NEED, NO, YES, MeetDraft, parse_meet, parse_number, slot_answers
from interlinkers.scheduling._shared import NAME, close_job, find_meet, meet_key

_NEXT = {None: YES, YES: IF_NEED, IF_NEED: NO, NO: YES}


class Meets(Events):
    """Date polls, which end as events (``Events.create_event``)."""

    @command("meet", help=N_("Find a date: offer times, everyone answers (alone: I ask step by step)"),
             usage=N_("<title> | <time> | <time> … [| closes …]"))
    async def meet(self, ctx: Context, args: str) -> None:
        if not args.strip():
            await self.ask_meet(ctx)
            return
        await self.create_meet(ctx, parse_meet(args, ctx.tz))

    async def ask_meet(self, ctx: Context) -> None:
        raise NotImplementedError  # the dialog (``_dialogs.Dialogs``)

    async def create_meet(self, ctx: Context, draft: MeetDraft) -> None:
        meet = Meet(initiative_id=ctx.initiative.id, number=await ctx.next_number("meet"), title=draft.title,
                    duration_minutes=int(draft.duration.total_seconds() // 60), creator_id=ctx.user_id,
                    platform=ctx.chat.platform, chat_id=ctx.chat.chat_id, thread_id=ctx.chat.thread_id,
                    closes_at=draft.closes_at, status="open")
        ctx.session.add(meet)
        await ctx.session.flush()
        for position, when in enumerate(draft.slots, start=1):
            ctx.session.add(Slot(meet_id=meet.id, position=position, starts_at=when))
        if draft.closes_at is not None:
            await ctx.schedule(NAME, "close", draft.closes_at, close_job(meet), meet_id=meet.id)
        await self._show_meet(ctx, meet, new=True)

    @button("a")
    async def answer_button(self, ctx: Context, meet_id: str, position: str) -> None:
        meet = await self._open_meet(ctx, int(meet_id))
        where = int(position)
        current = await ctx.session.get(Answer, (meet.id, ctx.user_id, where))
        answer = _NEXT[current.answer if current else None]
        await self._set(ctx, meet, {where: answer})
        slots = await self._slots(ctx, meet)
        ctx.notice(_("{when}: your answer is {answer}. Press again to change it.").format(
            when=view.slot_label(slots[where - 1], ctx.tz), answer=view.slot_answer_name(answer)))
        await self._show_meet(ctx, meet)

    @command("answer", help=N_("Answer a date poll, one word per time"), usage=N_("<number> yes no maybe …"))
    async def answer_typed(self, ctx: Context, args: str) -> None:
        number, rest = parse_number(args, "answer")
        meet = await find_meet(ctx, number)
        await self._open_meet(ctx, meet.id)
        slots = await self._slots(ctx, meet)
        given = slot_answers(rest, len(slots))
        await self._set(ctx, meet, {position: a for position, a in enumerate(given, start=1) if a is not None})
        said = ", ".join(f"{view.slot_label(when, ctx.tz)}: {view.slot_answer_name(a)}"
                         for when, a in zip(slots, given, strict=True))
        ctx.reply(_("Your answers to date poll #{number}: {answers}.").format(number=meet.number, answers=said))
        await self._show_meet(ctx, meet)

    @command("confirm", help=N_("Confirm a time of a date poll: it becomes an event"),
             usage=N_("<number> [<time number>]"))
    async def confirm(self, ctx: Context, args: str) -> None:
        number, rest = parse_number(args, "confirm")
        meet = await find_meet(ctx, number)
        ctx.authorize(owner_id=meet.creator_id, role=Role.ORGANISER)
        meet = await self._open_meet(ctx, meet.id)
        slots = await self._slots(ctx, meet)
        if rest:
            if not rest.isdigit() or not 1 <= int(rest) <= len(slots):
                raise UserError(_("Date poll #{number} has times 1 to {count}.").format(
                    number=meet.number, count=len(slots)))
            position = int(rest)
        else:
            position = view.best_slot(await self._counts(ctx, meet, len(slots))) + 1
        await self._confirm(ctx, meet, slots, position, "hand")

    @job("close")
    async def close_meet(self, ctx: Context, meet_id: int) -> None:
        meet = await ctx.session.get(Meet, meet_id)
        if meet is None or meet.status != "open":
            return
        slots = await self._slots(ctx, meet)
        counts = await self._counts(ctx, meet, len(slots))
        best = view.best_slot(counts)
        if counts[best][0] == 0:
            meet.status = "closed"
            await self._show_meet(ctx, meet)
            return
        await self._confirm(ctx, meet, slots, best + 1, "deadline")

    # --- internals ---------------------------------------------------------------------------------

    async def _confirm(self, ctx: Context, meet: Meet, slots: Sequence[datetime], position: int,
                       how: str) -> None:
        meet.status = "confirmed"
        await ctx.unschedule(close_job(meet))
        event = await self.create_event(ctx, title=meet.title, start=slots[position - 1], rule=None,
                                        minutes=meet.duration_minutes, place=None, capacity=None, reminders=None,
                                        creator_id=meet.creator_id, origin=f"meet:{meet.number}:{how}")
        meet.event_id = event.id
        await self._show_meet(ctx, meet)

    async def _open_meet(self, ctx: Context, meet_id: int) -> Meet:
        meet = await ctx.session.get(Meet, meet_id)
        if meet is None or meet.initiative_id != ctx.initiative.id:
            raise UserError(_("This button is not valid any more. Send /help to start again."))
        if meet.status != "open":
            raise UserError(_("Date poll #{number} is closed.").format(number=meet.number))
        return meet

    @staticmethod
    async def _slots(ctx: Context, meet: Meet) -> list[datetime]:
        return list((await ctx.session.scalars(select(Slot.starts_at).where(Slot.meet_id == meet.id)
                                               .order_by(Slot.position))).all())

    async def _set(self, ctx: Context, meet: Meet, given: dict[int, int]) -> None:
        await ctx.session.execute(delete(Answer).where(Answer.meet_id == meet.id, Answer.user_id == ctx.user_id,
                                                       Answer.position.in_(list(given))))
        for position, answer in given.items():
            ctx.session.add(Answer(meet_id=meet.id, user_id=ctx.user_id, position=position, answer=answer))
        await ctx.session.flush()

    async def _grid(self, ctx: Context, meet: Meet) -> dict[int, dict[int, int]]:
        grid: dict[int, dict[int, int]] = {}
        for user_id, position, answer in (await ctx.session.execute(
                select(Answer.user_id, Answer.position, Answer.answer).where(Answer.meet_id == meet.id))).all():
            grid.setdefault(user_id, {})[position] = answer
        return grid

    async def _counts(self, ctx: Context, meet: Meet, count: int) -> list[tuple[int, int]]:
        """Per time: (yes, if need be)."""
        grid = await self._grid(ctx, meet)
        return [(sum(1 for row in grid.values() if row.get(position) == YES),
                 sum(1 for row in grid.values() if row.get(position) == IF_NEED))
                for position in range(1, count + 1)]

    async def _show_meet(self, ctx: Context, meet: Meet, new: bool = False) -> None:
        slots = [when.astimezone(UTC) for when in await self._slots(ctx, meet)]
        grid = await self._grid(ctx, meet)
        people = await ctx.names(grid)
        with ctx.for_group():
            text, buttons = view.meet_view(ctx, meet, slots, grid, people)
        if new:
            ctx.reply(text, buttons, key=meet_key(meet))
        else:
            ctx.edit(meet_key(meet), text, buttons)
