"""The polls' settings organisers change with ``/settings``: who may start polls, and the reminders
before a deadline."""

from __future__ import annotations

from bot.errors import UserError
from bot.i18n import N_, _
from bot.interlinker import SettingSpec
from bot.when import lead_times_text, parse_lead_times

_ORGANISERS = {"organisers", "organizers", "organiser", "organizer", "organizzatori", "organizadores",
               "organizatori"}
_MEMBERS = {"members", "member", "everyone", "all", "membri", "tutti", "miembros", "todos", "dalibnieki", "visi"}


def _describe_reminders(stored: str) -> str:
    if not stored:
        return _("no reminders")
    return _("{times} before the deadline").format(times=lead_times_text(stored))


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
                _parse_creators, _describe_creators, governs=True),
    SettingSpec("reminders", N_("reminders in the group before a poll closes, such as 1d 1h, or off"), "1d 1h",
                parse_lead_times, _describe_reminders),
)
