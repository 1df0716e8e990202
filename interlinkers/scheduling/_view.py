"""What people read: a date poll's live grid and an event's card, in the group's language and zone."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot import recurrence
from bot.context import Context
from bot.events import Button
from bot.i18n import _, format_clock, format_list, format_moment, ngettext
from interlinkers.scheduling._models import Event, Meet
from interlinkers.scheduling._parsing import GOING, IF_NEED, MAYBE, NO, NOT_GOING, YES
from interlinkers.scheduling._shared import NAME, duration, first_start, rule_of, upcoming, zone

MARKS = {YES: "✓", IF_NEED: "~", NO: "✗"}


def slot_label(when: datetime, tz: ZoneInfo) -> str:
    return format_moment(when, tz)


def slot_answer_name(answer: int | None) -> str:
    return {YES: _("yes"), IF_NEED: _("if need be"), NO: _("no")}.get(answer or 0, _("no answer"))


def rsvp_name(answer: int) -> str:
    return {GOING: _("going"), MAYBE: _("maybe"), NOT_GOING: _("not going")}[answer]


def best_slot(counts: Sequence[tuple[int, int]]) -> int:
    """The rule shown to everyone: most "yes", then most "if need be", then the earliest (0-based)."""
    return max(range(len(counts)), key=lambda index: (counts[index][0], counts[index][1], -index))


def meet_view(ctx: Context, meet: Meet, slots: Sequence[datetime], grid: dict[int, dict[int, int]],
              people: dict[int, str]) -> tuple[str, tuple[Button, ...]]:
    """``grid``: user id → slot position → answer."""
    tz = ctx.tz
    lines = [_("Date poll #{number}: {title}").format(number=meet.number, title=meet.title)]
    for position, when in enumerate(slots, start=1):
        given = {user_id: row[position] for user_id, row in grid.items() if position in row}
        yes = sum(1 for a in given.values() if a == YES)
        maybe = sum(1 for a in given.values() if a == IF_NEED)
        no = sum(1 for a in given.values() if a == NO)
        lines.append(_("{number}. {when} — yes {yes} · if need be {maybe} · no {no}").format(
            number=position, when=slot_label(when, tz), yes=yes, maybe=maybe, no=no))
        marked = [f"{MARKS[answer]} {people.get(user_id, '?')}"
                  for user_id, answer in sorted(given.items(), key=lambda item: (item[1], people.get(item[0], "")))]
        if marked:
            lines.append("   " + ", ".join(marked))
    if meet.status == "open":
        lines.append(_("Press a time to answer: yes, press again for if need be, again for no. Or type "
                       "/answer {number} yes no maybe (one word per time).").format(number=meet.number))
        if meet.closes_at is not None:
            lines.append(_("Closes {when} ({zone}); then the time with the most “yes” is confirmed (ties: most "
                           "“if need be”, then the earliest).").format(
                when=format_moment(meet.closes_at, tz), zone=tz.key))
        else:
            lines.append(_("An organiser confirms a time with /confirm {number} <time number>.").format(
                number=meet.number))
        buttons = tuple(ctx.button(f"{position}. {slot_label(when, tz)}", NAME, "a", meet.id, position)
                        for position, when in enumerate(slots, start=1))
        return "\n".join(lines), buttons
    if meet.status == "confirmed":
        lines.append(_("Confirmed: see the event below."))
    else:
        lines.append(_("Closed without a time: nobody said yes."))
    return "\n".join(lines), ()


def when_text(event: Event, tz: ZoneInfo | None = None) -> str:
    """"Sat 5 Dec 2026, 10:00–12:00 (Europe/Rome)", or the rule and the next date for a series."""
    tz = tz or zone(event)
    rule = rule_of(event)
    start = first_start(event)
    following = upcoming(event)
    shown = (following[0] if following else start).astimezone(tz)
    end = shown + duration(event)
    span = (f"{format_moment(shown, tz, year=True)}–{format_clock(end, tz)}"
            f" ({tz.key})")
    if rule is None:
        return span
    return _("{rule}; next: {span}").format(rule=recurrence.describe(rule, zone(event), start), span=span)


def event_view(ctx: Context, event: Event, answered: dict[int, list[int]],
               people: dict[int, str]) -> tuple[str, tuple[Button, ...]]:
    lines = [_("Event #{number}: {title}").format(number=event.number, title=event.title)]
    if event.status == "cancelled":
        lines[0] = _("Cancelled: event #{number}: {title}").format(number=event.number, title=event.title)
    lines.append(_("When: {when}").format(when=when_text(event)))
    if event.place:
        lines.append(_("Where: {place}").format(place=event.place))
    going = answered.get(GOING, [])
    counts = _("Going {going} · maybe {maybe} · not going {no}").format(
        going=len(going), maybe=len(answered.get(MAYBE, [])), no=len(answered.get(NOT_GOING, [])))
    if event.capacity is not None:
        left = max(0, event.capacity - len(going))
        counts += " · " + ngettext("{count} place left", "{count} places left", left).format(count=left)
    lines.append(counts)
    if going:
        lines.append(_("Going: {names}").format(names=format_list([people.get(user_id, "?") for user_id in going])))
    if event.status != "scheduled" or not upcoming(event):
        return "\n".join(lines), ()
    buttons = (ctx.button(_("Going"), NAME, "r", event.id, GOING),
               ctx.button(_("Maybe"), NAME, "r", event.id, MAYBE),
               ctx.button(_("Not going"), NAME, "r", event.id, NOT_GOING))
    return "\n".join(lines), buttons
