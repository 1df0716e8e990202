"""What people read: a shift's card (places taken and free, live), its roster, and one-line listings, in
the group's language and time zone."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import UTC
from zoneinfo import ZoneInfo

from bot.context import Context
from bot.events import Button
from bot.i18n import _, format_clock, format_moment, format_number, ngettext
from bot.summary import spreadsheet_safe
from interlinkers.volunteers._models import IN, OFFERED, WAITING, Shift, Signup
from interlinkers.volunteers._shared import NAME, started, zone


def when_text(shift: Shift, tz: ZoneInfo | None = None, *, inline: bool = False) -> str:
    """"Sat, 5 Dec 2026, 09:00–12:00 (Europe/Rome)"; ``inline`` (inside brackets already): "…, Europe/Rome"."""
    tz = tz or zone(shift)
    span = f"{format_moment(shift.starts_at, tz, year=True)}–{format_clock(shift.ends_at, tz)}"
    return f"{span}, {tz.key}" if inline else f"{span} ({tz.key})"


def heading(shift: Shift) -> str:
    title = _("Shift #{number}: {title}").format(number=shift.number, title=shift.title)
    return f"{title} — {shift.role}" if shift.role else title


def places_text(shift: Shift, rows: Sequence[Signup]) -> str:
    held = sum(1 for row in rows if row.state in (IN, OFFERED))
    waiting = sum(1 for row in rows if row.state == WAITING)
    free = shift.capacity - held
    text = (ngettext("{taken} of {capacity} places taken, {free} free", "{taken} of {capacity} places taken, "
                     "{free} free", shift.capacity).format(taken=held, capacity=shift.capacity, free=free)
            if free > 0 else _("Full: {capacity} of {capacity} places taken").format(capacity=shift.capacity))
    if waiting:
        text += " · " + ngettext("{count} waiting", "{count} waiting", waiting).format(count=waiting)
    return text


def card(ctx: Context, shift: Shift, rows: Sequence[Signup], people: dict[int, str]) -> tuple[str, tuple[Button, ...]]:
    lines = [heading(shift), _("When: {when}").format(when=when_text(shift))]
    if shift.place:
        lines.append(_("Where: {place}").format(place=shift.place))
    if shift.status == "cancelled":
        lines.append(_("Cancelled."))
        return "\n".join(lines), ()
    if shift.status == "done":
        signed = [row for row in rows if row.state == IN]
        came = sum(1 for row in signed if row.attended)
        minutes = sum(row.minutes or 0 for row in signed)
        lines.append(_("Over: {came} of {signed} came; {hours} hours served. Thank you!").format(
            came=came, signed=len(signed), hours=format_number(round(minutes / 60, 1))))
        return "\n".join(lines), ()
    lines.append(places_text(shift, rows))
    volunteers = [people.get(row.user_id or 0, "?") for row in rows if row.state in (IN, OFFERED)]
    if volunteers:
        lines.append(_("Volunteers: {names}").format(names=", ".join(volunteers)))
    if started(shift):
        return "\n".join(lines), ()
    full = sum(1 for row in rows if row.state in (IN, OFFERED)) >= shift.capacity
    sign_up = _("Join the waiting list") if full else _("Sign up")
    return "\n".join(lines), (ctx.button(sign_up, NAME, "s", shift.id), ctx.button(_("Withdraw"), NAME, "w", shift.id))


def roster_csv(shift: Shift, rows: Sequence[Signup], people: dict[int, str]) -> str:
    """One row per person, for the organisers' spreadsheet: cells that would run as formulas are defused
    (names are typed by anyone); times in UTC, as the header says."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["shift", "title", "starts_utc", "ends_utc", "name", "state", "waiting_position",
                     "took_over_from", "checked_in_utc", "attended", "minutes"])
    waiting = 0
    for row in rows:
        waiting += row.state == WAITING
        writer.writerow([spreadsheet_safe(cell) for cell in (
            shift.number, shift.title, shift.starts_at.astimezone(UTC).isoformat(),
            shift.ends_at.astimezone(UTC).isoformat(), people.get(row.user_id or 0, ""), row.state,
            waiting if row.state == WAITING else "", row.took_over_from or "",
            row.checked_in_at.astimezone(UTC).isoformat() if row.checked_in_at else "",
            "" if row.attended is None else ("yes" if row.attended else "no"),
            "" if row.minutes is None else row.minutes)])
    return buffer.getvalue()


def roster(shift: Shift, rows: Sequence[Signup], people: dict[int, str], tz: ZoneInfo) -> str:
    lines = [heading(shift), when_text(shift, tz), places_text(shift, rows)]
    number = 0
    for row in rows:
        name = people.get(row.user_id or 0, _("(forgotten)"))
        if row.state == IN:
            number += 1
            notes = []
            if row.took_over_from:
                notes.append(_("took over from {name}").format(name=row.took_over_from))
            if row.swap_offered:
                notes.append(_("offers their place"))
            if row.checked_in_at is not None:
                notes.append(_("checked in at {time}").format(time=format_clock(row.checked_in_at, tz)))
            elif row.attended is False:
                notes.append(_("did not come"))
            suffix = f" ({'; '.join(notes)})" if notes else ""
            lines.append(f"{number}. {name}{suffix}")
        elif row.state == OFFERED and row.offered_until is not None:
            number += 1
            lines.append(f"{number}. " + _("{name}: offered the place, to confirm by {when}").format(
                name=name, when=format_moment(row.offered_until, tz)))
    line = [row for row in rows if row.state == WAITING]
    if line:
        lines.append(_("Waiting list:"))
        lines.extend(f"  {index}. {people.get(row.user_id or 0, _('(forgotten)'))}"
                     for index, row in enumerate(line, start=1))
    return "\n".join(lines)
