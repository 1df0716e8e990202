"""What organisers control from the chat: the group's language, time zone and name, the settings each
Interlinker declares (``SettingSpec``), and who co-organises (``/promote``, ``/demote``; a network's own
administrators always count as organisers). The first person to speak no longer decides for good."""

from __future__ import annotations

from dataclasses import replace
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import func, select, update

from bot.context import Context
from bot.errors import UserError
from bot.i18n import N_, SUPPORTED_LOCALES, _, language_name
from bot.interlinker import Catalogue, Interlinker, SettingSpec, command
from bot.roles import Role
from storage.models import Initiative, InitiativeSetting, Membership, User, UserSetting
from storage.sql import insert

MAX_NAME = 200


class GroupSettings(Interlinker):
    name = "settings"
    catalogue = Catalogue(
        title=N_("Group settings"),
        description=N_("The group's language, time zone and name, and who organises it."),
        problem_profiles=("ORG_PROBLEM_4",),
        targets=("citizens", "nonprofit"),
    )

    @command("settings", help=N_("See the group's settings; organisers change them"),
             usage=N_("[<setting> <value>]"))
    async def show_or_change(self, ctx: Context, args: str) -> None:
        name, _sep, value = args.strip().partition(" ")
        name, value = name.casefold(), value.strip()
        if not name:
            ctx.reply(await self._overview(ctx))
            return
        if not (name in self._specs() and self._specs()[name].personal):  # one's own settings are one's own
            ctx.authorize(role=Role.ORGANISER)
        if not value:
            raise UserError(_("Write the setting and its new value, for example: /settings language it"))
        if name == "language":
            await self._set_language(ctx, value)
        elif name in ("timezone", "zone"):
            await self._set_zone(ctx, value)
        elif name == "name":
            await self._set_name(ctx, value)
        else:
            spec = self._specs().get(name)
            if spec is None:
                raise UserError(_("There is no setting “{name}”. Send /settings to see them.").format(name=name[:30]))
            stored = spec.parse(value)
            if spec.personal:
                await self._set_personal(ctx, spec, stored)
                return
            await ctx.session.execute(
                insert(ctx.session, InitiativeSetting)
                .values(initiative_id=ctx.initiative.id, key=spec.name, value=stored)
                .on_conflict_do_update(index_elements=["initiative_id", "key"], set_={"value": stored}))
            if spec.governs:
                await ctx.record_governance("setting_changed", {"setting": spec.name, "value": stored})
            with ctx.for_group():
                ctx.reply(_("Setting “{name}” is now: {value}.").format(name=spec.name, value=spec.describe(stored)))

    @command("promote", help=N_("Make a member a co-organiser (organisers)"), usage=N_("<name>"),
             role=Role.ORGANISER)
    async def promote(self, ctx: Context, args: str) -> None:
        user_id, name = await ctx.member_named(args, "/promote ann")
        await self._set_role(ctx, user_id, Role.ORGANISER)
        with ctx.for_group():
            ctx.reply(_("{name} is now an organiser of this group.").format(name=name))

    @command("demote", help=N_("Make an organiser a member again (organisers)"), usage=N_("<name>"),
             role=Role.ORGANISER)
    async def demote(self, ctx: Context, args: str) -> None:
        user_id, name = await ctx.member_named(args, "/demote ann")
        organisers = await ctx.session.scalar(select(func.count()).select_from(Membership).where(
            Membership.initiative_id == ctx.initiative.id, Membership.role >= Role.ORGANISER))
        current = await ctx.session.get(Membership, (ctx.initiative.id, user_id))
        if current is not None and current.role >= Role.ORGANISER and (organisers or 0) <= 1:
            raise UserError(_("{name} is the group's only organiser. Promote someone else first.").format(name=name))
        await self._set_role(ctx, user_id, Role.MEMBER)
        with ctx.for_group():
            ctx.reply(_("{name} is now a member of this group (no longer an organiser). The chat's own "
                        "administrators stay organisers.").format(name=name))

    # --- internals ---------------------------------------------------------------------------------

    async def _set_personal(self, ctx: Context, spec: SettingSpec, stored: str) -> None:
        if not ctx.chat.is_private or ctx.user is None:
            raise UserError(_("“{name}” is your own setting: change it in a private chat with me.").format(
                name=spec.name))
        await ctx.session.execute(
            insert(ctx.session, UserSetting).values(user_id=ctx.user.id, key=spec.name, value=stored)
            .on_conflict_do_update(index_elements=["user_id", "key"], set_={"value": stored}))
        ctx.reply(_("Your setting “{name}” is now: {value}.").format(name=spec.name, value=spec.describe(stored)))

    def _specs(self) -> dict[str, SettingSpec]:
        return {spec.name: spec for interlinker in self.services.interlinkers.values()
                for spec in type(interlinker).settings}

    async def _overview(self, ctx: Context) -> str:
        organisers = (await ctx.session.scalars(
            select(User.display_name).join(Membership, Membership.user_id == User.id)
            .where(Membership.initiative_id == ctx.initiative.id, Membership.role >= Role.ORGANISER)
            .order_by(User.display_name))).all()
        stored = dict((await ctx.session.execute(
            select(InitiativeSetting.key, InitiativeSetting.value)
            .where(InitiativeSetting.initiative_id == ctx.initiative.id))).all())
        lines = [
            _("Settings of this group:"),
            f"• name — {ctx.initiative.name}",
            f"• language — {language_name(ctx.initiative.locale)} ({ctx.initiative.locale})",
            f"• timezone — {ctx.initiative.timezone}",
        ]
        mine: dict[str, str] = {}
        if ctx.chat.is_private and ctx.user is not None:
            mine = dict((await ctx.session.execute(select(UserSetting.key, UserSetting.value)
                                                   .where(UserSetting.user_id == ctx.user.id))).all())
        for spec in self._specs().values():
            if spec.personal and not ctx.chat.is_private:
                continue
            value = (mine if spec.personal else stored).get(spec.name, spec.default)
            lines.append(f"• {spec.name} — {spec.describe(value)} ({_(spec.help)})")
        lines.append(_("Organisers: {names}").format(names=", ".join(organisers) or "—"))
        lines.append(_("Organisers change a setting with /settings <setting> <value>, for example: "
                       "/settings language it"))
        return "\n".join(lines)

    async def _set_language(self, ctx: Context, value: str) -> None:
        code = value.casefold()
        if code not in SUPPORTED_LOCALES:
            choices = ", ".join(f"{c} ({language_name(c)})" for c in SUPPORTED_LOCALES)
            raise UserError(_("I don't speak “{code}” yet. Choose one of: {choices}.").format(code=value[:20],
                                                                                          choices=choices))
        await self._update(ctx, locale=code)
        with ctx.for_group():
            ctx.reply(_("From now on this group's polls, results and reminders are in {language}. Each of you can "
                        "still choose your own language for personal replies with /language.").format(
                language=language_name(code)))

    async def _set_zone(self, ctx: Context, value: str) -> None:
        zone = _zone(value)
        await self._update(ctx, timezone=zone)
        if ctx.chat.is_private and ctx.user is not None:  # a person's own zone, for what is sent to them alone
            await ctx.session.execute(update(User).where(User.id == ctx.user.id).values(timezone=zone))
            ctx.reply(_("Your time zone is now {zone}: I use it for what I send to you alone.").format(zone=zone))
            return
        with ctx.for_group():
            ctx.reply(_("This group's time zone is now {zone}.").format(zone=zone))

    async def _set_name(self, ctx: Context, value: str) -> None:
        name = " ".join(value.split())
        if len(name) > MAX_NAME:
            raise UserError(_("The name is {length} characters long; the limit is {limit}.").format(
                length=len(name), limit=MAX_NAME))
        await self._update(ctx, name=name)
        with ctx.for_group():
            ctx.reply(_("This group is now called “{name}”.").format(name=name))

    async def _update(self, ctx: Context, *, name: str | None = None, timezone: str | None = None,
                      locale: str | None = None) -> None:
        current = ctx.initiative
        ctx.initiative = replace(current, name=name or current.name, timezone=timezone or current.timezone,
                                 locale=locale or current.locale)
        await ctx.session.execute(update(Initiative).where(Initiative.id == current.id).values(
            name=ctx.initiative.name, timezone=ctx.initiative.timezone, locale=ctx.initiative.locale))

    async def _set_role(self, ctx: Context, user_id: int, role: Role) -> None:
        await ctx.session.execute(update(Membership).where(
            Membership.initiative_id == ctx.initiative.id, Membership.user_id == user_id).values(role=int(role)))
        await ctx.record_governance("role_changed", {"member": ctx.pseudonym(user_id), "role": role.name.lower()})


def _zone(value: str) -> str:
    """An IANA zone name, found whatever its case ("europe/rome" → "Europe/Rome")."""
    typed = value.strip().replace(" ", "_")
    try:
        ZoneInfo(typed)
        if "/" in typed or typed == "UTC":
            return typed
    except (ZoneInfoNotFoundError, ValueError):
        pass
    for zone in available_timezones():
        if zone.casefold() == typed.casefold():
            return zone
    raise UserError(_("I do not know the time zone “{zone}”. Write it as Region/City, for example Europe/Rome, "
                      "Europe/Madrid or Europe/Riga.").format(zone=value[:40]))
