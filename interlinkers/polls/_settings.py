"""The polls' settings organisers change with ``/settings``: who may start polls, and the reminders
before a deadline."""

from __future__ import annotations

import re
from datetime import timedelta

from babel.dates import format_timedelta

from bot.errors import UserError
from bot.i18n import N_, _, current_locale, format_list
from bot.interlinker import SettingSpec

_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}
_OFF = {"off", "no", "none", "0", "nessuno", "ninguno", "nav"}
_ORGANISERS = {"organisers", "organizers", "organiser", "organizer", "organizzatori", "organizadores",
               "organizatori"}
_MEMBERS = {"members", "member", "everyone", "all", "membri", "tutti", "miembros", "todos", "dalibnieki", "visi"}
MAX_REMINDERS = 3  # as many job ids as _shared.reminder_id gives


def reminders(stored: str) -> tuple[timedelta, ...]:
    """The stored value ("1d 1h", "" for none) as offsets before the deadline, longest first."""
    return tuple(sorted((timedelta(seconds=int(t[:-1]) * _UNITS[t[-1]]) for t in stored.split()), reverse=True))


def _parse_reminders(typed: str) -> str:
    words = typed.casefold().replace(",", " ").split()
    if len(words) == 1 and words[0] in _OFF:
        return ""
    if not words or len(words) > MAX_REMINDERS or not all(re.fullmatch(r"\d{1,3}[mhdw]", w) for w in words):
        raise UserError(_("Write up to {count} times before the deadline, such as “1d 1h” (d days, h hours, m "
                          "minutes, w weeks), or “off”.").format(count=MAX_REMINDERS))
    if any(not timedelta(minutes=5) <= reminders(w)[0] <= timedelta(weeks=4) for w in words):
        raise UserError(_("A reminder comes from 5 minutes to 4 weeks before the deadline."))
    return " ".join(sorted(set(words), key=lambda w: reminders(w)[0], reverse=True))


def _describe_reminders(stored: str) -> str:
    if not stored:
        return _("no reminders")
    times = [format_timedelta(offset, threshold=1, locale=current_locale()) for offset in reminders(stored)]
    return _("{times} before the deadline").format(times=format_list(times))


def _parse_creators(typed: str) -> str:
    word = typed.casefold().strip()
    if word in _ORGANISERS or word == _("organisers").casefold():
        return "organisers"
    if word in _MEMBERS or word == _("members").casefold():
        return "members"
    raise UserError(_("Write “members” (anyone in the group) or “organisers”."))


def _describe_creators(stored: str) -> str:
    return _("organisers") if stored == "organisers" else _("members")


SETTINGS = (
    SettingSpec("pollcreators", N_("who may start polls and proposals: members or organisers"), "members",
                _parse_creators, _describe_creators),
    SettingSpec("reminders", N_("reminders in the group before a poll closes, such as 1d 1h, or off"), "1d 1h",
                _parse_reminders, _describe_reminders),
)
