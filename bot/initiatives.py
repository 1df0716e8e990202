"""An initiative as INTERLINK describes it, and the chat side of the PA: its profile (description, phase,
partner PA, listing in the public directory), members' team types, invite links, the officers' way to the
dashboard and everyone's digest subscription.

Organisers edit the profile and team types; ``/dashboard`` and ``/digest`` are personal and answered in
the private chat (a log-in link posted in a group would let anyone in).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from bot import email
from bot.context import Context
from bot.digests import FREQUENCIES, organised_initiatives, parse_clock, subscribe
from bot.email import SmtpSettings
from bot.errors import UserError
from bot.i18n import N_, _, format_clock, weekday_name
from bot.interlinker import Catalogue, Interlinker, command
from bot.officers import initiatives_of, link_identity, login_token, login_url, officer_of_user
from bot.officers_cli import COMMANDS
from bot.panels import members_by_team
from bot.roles import Role
from storage.deliveries import Attempt, Destination
from storage.models import DigestSubscription, Initiative, Membership, Officer, utcday
from storage.sql import insert

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.services import Services

PHASES = {"engage": N_("Engage"), "design": N_("Design"), "build": N_("Build"), "sustain": N_("Sustain")}
TEAMS = {"citizen": N_("citizen"), "public_administration": N_("public administration"),
         "nonprofit": N_("non-profit"), "forprofit": N_("for-profit")}
_TEAM_WORDS = {"citizen": "citizen", "citizens": "citizen", "pa": "public_administration",
               "public_administration": "public_administration", "public": "public_administration",
               "nonprofit": "nonprofit", "non-profit": "nonprofit", "ngo": "nonprofit", "forprofit": "forprofit",
               "for-profit": "forprofit", "business": "forprofit", "company": "forprofit"}
_WEEKDAYS = {"monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6,
             "lunedì": 0, "martedì": 1, "mercoledì": 2, "giovedì": 3, "venerdì": 4, "sabato": 5, "domenica": 6,
             "lunes": 0, "martes": 1, "miércoles": 2, "jueves": 3, "viernes": 4, "sábado": 5, "domingo": 6,
             "pirmdiena": 0, "otrdiena": 1, "trešdiena": 2, "ceturtdiena": 3, "piektdiena": 4, "sestdiena": 5,
             "svētdiena": 6}
_FREQUENCY_WORDS = {"daily": "daily", "day": "daily", "giornaliero": "daily", "diario": "daily", "katru": "daily",
                    "ik": "daily", "weekly": "weekly", "week": "weekly", "settimanale": "weekly", "semanal": "weekly",
                    "iknedēļas": "weekly"}
_OFF = {"off", "stop", "no", "basta", "izslēgt"}
_FIELDS = ("name", "description", "phase", "partner", "directory", "joinlink")


def team_label(team: str) -> str:
    return _(TEAMS.get(team, team))


def phase_label(phase: str) -> str:
    return _(PHASES.get(phase, phase))


def join_payload(secret: str, initiative_id: int) -> str:
    """``/start`` payload of an initiative's join link (Telegram allows ``A-Za-z0-9_-``, 64 at most)."""
    mac = hmac.new(hashlib.sha256(f"join:{secret}".encode()).digest(), str(initiative_id).encode(),
                   hashlib.sha256).digest()
    return f"j{initiative_id}_{base64.urlsafe_b64encode(mac[:6]).decode()}"


class Initiatives(Interlinker):
    """Also the home of the e-mail destination digests are delivered through."""

    name = "initiative"
    cli = COMMANDS
    catalogue = Catalogue(
        title=N_("Initiative"),
        description=N_("The initiative's profile, its members' teams, invitations, and the public "
                       "administration's dashboard and digests."),
        problem_profiles=("ORG_PROBLEM_4", "VAL_PROBLEM_5"),
        targets=("citizens", "public_administrations"),
    )

    def __init__(self, services: Services) -> None:
        super().__init__(services)
        self.smtp = SmtpSettings.read(services.settings.source)

    @classmethod
    def check_config(cls, settings: Settings) -> None:
        SmtpSettings.read(settings.source)

    def destinations(self) -> dict[str, Destination]:
        smtp = self.smtp
        if smtp is None:
            return {}

        async def deliver(payload: dict[str, Any], attempt: Attempt) -> dict[str, Any]:
            return await email.send(smtp, payload, attempt)

        return {"email": Destination(deliver, timeout=60.0)}

    # --- profile ----------------------------------------------------------------------------------

    @command("initiative", help=N_("See this initiative's profile; organisers change it"),
             usage=N_("[name | description | phase | partner | directory | joinlink] [value]"))
    async def initiative(self, ctx: Context, args: str) -> None:
        field, _sep, value = args.strip().partition(" ")
        field, value = field.casefold(), value.strip()
        row = await ctx.session.get_one(Initiative, ctx.initiative.id)
        if not field:
            ctx.reply(_profile(row))
            return
        if field not in _FIELDS:
            raise UserError(_("Change one of: {fields}. For example: /initiative phase design").format(
                fields=", ".join(_FIELDS)))
        ctx.authorize()
        if field == "name":
            if not value or len(value) > 200:
                raise UserError(_("Write a name of 1 to 200 characters."))
            row.name = value
        elif field == "description":
            if len(value) > 2000:
                raise UserError(_("Keep the description under 2000 characters."))
            row.description = value
        elif field == "phase":
            if value.casefold() not in PHASES:
                raise UserError(_("The phase is one of: {phases}.").format(phases=", ".join(PHASES)))
            row.phase = value.casefold()
        elif field == "partner":
            if len(value) > 200:
                raise UserError(_("Write the partner's name in at most 200 characters."))
            row.partner = value
        elif field == "directory":
            if value.casefold() not in ("on", "off"):
                raise UserError(_("Write /initiative directory on (list it publicly) or off."))
            row.listed = value.casefold() == "on"
        else:
            if (value and not value.startswith(("https://", "http://"))) or len(value) > 300:
                raise UserError(_("Write the group's invite link, starting with https://."))
            row.join_url = value
        await ctx.session.flush()
        ctx.reply(_("Saved.") + "\n\n" + _profile(row))

    @command("team", help=N_("Set a member's team type (organisers)"),
             usage=N_("<member> <citizen | pa | nonprofit | forprofit>"), role=Role.ORGANISER)
    async def team(self, ctx: Context, args: str) -> None:
        words = args.split()
        if not words:
            counts = await members_by_team(ctx.session, [ctx.initiative.id])
            ctx.reply(_("Members by team:") + "\n" + "\n".join(
                f"• {team_label(team)}: {counts.get(team, 0)}" for team in TEAMS))
            return
        team = _TEAM_WORDS.get(words[-1].casefold(), "")
        if not team or len(words) < 2:
            raise UserError(_("Write the member and a team type: citizen, pa, nonprofit or forprofit. For example: "
                              "/team Ann pa"))
        user_id, name = await ctx.member_named(" ".join(words[:-1]), "/team Ann pa")
        await ctx.session.execute(update(Membership).where(
            Membership.initiative_id == ctx.initiative.id, Membership.user_id == user_id).values(team=team))
        ctx.reply(_("{name} is now in the team: {team}.").format(name=name, team=team_label(team)))

    @command("invite", help=N_("Get a link that invites people into this initiative (organisers)"),
             role=Role.ORGANISER)
    async def invite(self, ctx: Context, args: str) -> None:
        payload = join_payload(self.services.settings.secret, ctx.initiative.id)
        button = ctx.link_button(_("Join {initiative}").format(initiative=ctx.initiative.name),
                                 f"{self.name}-{payload}")
        directory = f"{self.services.settings.public_url}/directory"
        if button is None or button.url is None:
            ctx.reply(_("Share the public directory: {url}").format(url=directory))
            return
        ctx.reply(_("Share this link: whoever opens it joins “{initiative}” and gets its news.\n{url}").format(
            initiative=ctx.initiative.name, url=button.url))

    async def on_start(self, ctx: Context, payload: str) -> None:
        """An invite or directory link: make them a member and say where the group talks."""
        number = payload[1:].partition("_")[0]
        if not number.isdigit() or not hmac.compare_digest(
                payload.encode(), join_payload(self.services.settings.secret, int(number)).encode()):
            raise UserError(_("This invitation link is not valid. Ask the organisers for a new one."))
        row = await ctx.session.get(Initiative, int(number))
        if row is None:
            raise UserError(_("This invitation link is not valid. Ask the organisers for a new one."))
        await ctx.session.execute(insert(ctx.session, Membership).values(
            initiative_id=row.id, user_id=ctx.user_id, role=int(Role.MEMBER),
            joined_at=utcday(),
        ).on_conflict_do_nothing())
        lines = [_("Welcome to “{initiative}”!").format(initiative=row.name)]
        if row.description:
            lines.append(row.description)
        if row.join_url:
            lines.append(_("Join the group's conversation here: {url}").format(url=row.join_url))
        ctx.reply("\n".join(lines))

    # --- the PA side from the chat ------------------------------------------------------------------

    @command("dashboard", help=N_("Get a link to the public administration's dashboard (officers)"),
             usage=N_("[code]"))
    async def dashboard(self, ctx: Context, args: str) -> None:
        if not ctx.chat.is_private:
            raise UserError(_("Send /dashboard to me in a private chat: the link logs you in."))
        officer: Officer | None
        if args.strip():
            officer = await link_identity(ctx.session, args, ctx.user_id)
            if officer is None:
                raise UserError(_("This code is not valid (codes last 15 minutes). Get a new one on the dashboard, "
                                  "under “Chat accounts”."))
            ctx.reply(_("This chat account is now linked to {officer}.").format(officer=officer.name))
        else:
            officer = await officer_of_user(ctx.session, ctx.user_id)
            if officer is None:
                raise UserError(_("The dashboard is for public administration officers. Ask your administrator "
                                  "for an account; then link this chat from the dashboard with /dashboard <code>."))
        url = login_url(self.services.settings.public_url, login_token(self.services.settings.secret, officer.id))
        ctx.reply(_("Your dashboard link (it works once, within 15 minutes):\n{url}").format(url=url))

    @command("digest", help=N_("Get a daily or weekly digest of your initiatives"),
             usage=N_("[daily 08:00 | weekly monday 08:00 | off | empty line | empty skip]"))
    async def subscribe_digest(self, ctx: Context, args: str) -> None:
        if not ctx.chat.is_private:
            raise UserError(_("Send /digest to me in a private chat: the digest comes to you alone."))
        officer = await officer_of_user(ctx.session, ctx.user_id)
        owner = (DigestSubscription.officer_id == officer.id) if officer else (
            DigestSubscription.user_id == ctx.user_id)
        current = await ctx.session.scalar(select(DigestSubscription).where(owner))
        tz = ctx.tz if officer is None else ZoneInfo(officer.timezone)
        words = args.casefold().split()
        if not words:
            ctx.reply(_describe(current, tz))
            return
        if words[0] in _OFF:
            if current is not None:
                await ctx.session.delete(current)
            ctx.reply(_("Digest stopped."))
            return
        if words[0] in ("empty", "vuoto", "vacío", "tukšs"):
            if current is None or len(words) < 2 or words[1] not in ("line", "skip"):
                raise UserError(_("First subscribe, for example /digest daily 08:00; then /digest empty line sends "
                                  "one line when nothing happened, /digest empty skip sends nothing."))
            current.when_empty = words[1]
            ctx.reply(_describe(current, tz))
            return
        frequency = _FREQUENCY_WORDS.get(words[0])
        if frequency not in FREQUENCIES:
            raise UserError(_("Write /digest daily 08:00, /digest weekly monday 08:00 or /digest off."))
        rest = words[1:]
        weekday = 0
        if frequency == "weekly" and rest and rest[0] in _WEEKDAYS:
            weekday = _WEEKDAYS[rest.pop(0)]
        hour, minute = parse_clock(rest[0]) if rest else (8, 0)
        initiatives = (await initiatives_of(ctx.session, officer.id) if officer
                       else await organised_initiatives(ctx.session, ctx.user_id))
        if not initiatives:
            raise UserError(_("Digests are for organisers and public administration officers: you organise no "
                              "initiative yet."))
        current = subscribe(ctx.session, current, officer_id=officer.id if officer else None,
                            user_id=None if officer else ctx.user_id, frequency=frequency, weekday=weekday,
                            hour=hour, minute=minute, tz=tz)
        await ctx.session.flush()
        ctx.reply(_describe(current, tz))


def _profile(row: Initiative) -> str:
    lines = [f"{row.name}", row.description or _("(no description yet)"),
             _("Phase: {phase}").format(phase=phase_label(row.phase)),
             _("Partner administration: {partner}").format(partner=row.partner or "—"),
             _("Public directory: {listed}").format(listed=_("listed") if row.listed else _("not listed"))]
    return "\n".join(lines)


def _describe(sub: DigestSubscription | None, tz: ZoneInfo) -> str:
    if sub is None:
        return _("You get no digest. Subscribe with /digest daily 08:00 or /digest weekly monday 08:00.")
    clock = format_clock(sub.next_at, tz)
    if sub.frequency == "daily":
        text = _("You get a digest every day at {time}.").format(time=clock)
    else:
        text = _("You get a digest every week, on {day} at {time}.").format(
            day=weekday_name(sub.weekday), time=clock)
    empty = (_("When nothing happened you get one line saying so.") if sub.when_empty == "line"
             else _("When nothing happened you get nothing."))
    return f"{text} {empty}"


__all__ = ["PHASES", "TEAMS", "Initiatives", "join_payload", "phase_label", "team_label"]
