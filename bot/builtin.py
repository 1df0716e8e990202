"""Commands every chat has, whatever Interlinkers are installed: start, help, interlinkers, language,
cancel. Written as an Interlinker so it goes through the same pipeline and permission checks."""

from __future__ import annotations

from sqlalchemy import select

from bot.context import Context
from bot.errors import UserError
from bot.i18n import N_, SUPPORTED_LOCALES, _, current_locale, language_name, set_locale
from bot.identity import forget_person, set_person_locale
from bot.interlinker import Catalogue, CommandSpec, Interlinker, command
from bot.roles import Role
from storage.models import Initiative, Membership

# The core's own commands (and the group settings'): /help lists them one by one, the Interlinkers' by name.
BASIC = {"core", "settings", "chats"}


class CoreCommands(Interlinker):
    name = "core"
    catalogue = Catalogue(
        title=N_("Core"),
        description=N_("Help, languages and the list of Interlinkers."),
        problem_profiles=("ORG_PROBLEM_4",),
        targets=("citizens", "public_administrations"),
    )

    @command("start", help=N_("Say hello and see how to begin"))
    async def hello(self, ctx: Context, args: str) -> None:
        prefix, _dash, payload = args.strip().partition("-")
        owner = self.services.interlinkers.get(prefix) if prefix and prefix != self.name else None
        if owner is not None:  # a deep link: the Interlinker that made it goes on from here
            await owner.on_start(ctx, payload)
            return
        if ctx.directs:  # messages held for them until they opened this chat: those speak for themselves
            return
        ctx.reply(
            _(
                "Hello {name}! I help this group organise together with the public administration: "
                "polls and decisions, and more. Send /help to see what you can do."
            ).format(name=ctx.user_ref.display_name if ctx.user_ref else "")
        )

    @command("help", help=N_("List the commands you can use"), usage=N_("[command | topic]"))
    async def help(self, ctx: Context, args: str) -> None:
        """One short message however many Interlinkers there are: the core's commands with what they do,
        then each Interlinker's commands by name; ``/help <topic>`` lists one Interlinker's commands with
        what they do, ``/help <command>`` says how to write one."""
        visible = sorted(self.services.dispatcher_commands(ctx.role), key=lambda item: item[1].name)
        wanted = args.strip().lstrip("/").split("@")[0].casefold()
        topics: dict[type[Interlinker], list[CommandSpec]] = {}
        for interlinker, listed in visible:
            topics.setdefault(type(interlinker), []).append(listed)
        if wanted:
            spec = next((listed for _owner, listed in visible if listed.name == wanted), None)
            if spec is not None:
                usage = f" {_(spec.usage)}" if spec.usage else ""
                ctx.reply(f"/{spec.name}{usage} — {_(spec.help)}")
                return
            topic = next((cls for cls in topics if wanted in {cls.name, _(cls.catalogue.title).casefold()}), None)
            if topic is None:
                raise UserError(_("I don't know the command /{name}. Send /help to see what you can do.").format(
                    name=wanted[:64]))
            ctx.reply("\n".join([f"{_(topic.catalogue.title)}:",
                                  *(f"/{spec.name} — {_(spec.help)}" for spec in topics[topic])]))
            return
        lines = [_("Commands you can use here:")]
        for cls, specs in topics.items():
            if cls.name in BASIC:
                lines += [f"/{spec.name} — {_(spec.help)}" for spec in specs]
        for cls, specs in sorted(topics.items(), key=lambda item: item[0].name):
            if cls.name not in BASIC:
                lines.append(f"{_(cls.catalogue.title)}: " + " ".join(f"/{spec.name}" for spec in specs))
        lines.append(_("Send /help <command> to see how to write one, for example /help poll, or /help with a "
                       "topic above to see what its commands do."))
        ctx.reply("\n".join(lines))

    @command("interlinkers", help=N_("List the Interlinkers this bot offers"))
    async def interlinkers(self, ctx: Context, args: str) -> None:
        lines = [_("Interlinkers available here:")]
        for interlinker in self.services.interlinkers.values():
            if interlinker is self:
                continue
            meta = type(interlinker).catalogue
            commands = ", ".join(f"/{name}" for name in sorted(type(interlinker).commands))
            lines.append(f"• {_(meta.title)}: {_(meta.description)} ({commands})")
        ctx.reply("\n".join(lines))

    @command("language", help=N_("Choose the language I speak to you"), usage=N_("<code>"))
    async def language(self, ctx: Context, args: str) -> None:
        choices = ", ".join(f"{code} ({language_name(code)})" for code in SUPPORTED_LOCALES)
        code = args.strip().lower()
        if not code:
            ctx.reply(_("Send /language followed by one of: {choices}.").format(choices=choices))
            return
        if code not in SUPPORTED_LOCALES:
            raise UserError(
                _("I don't speak “{code}” yet. Choose one of: {choices}.").format(code=code[:20], choices=choices)
            )
        assert ctx.user is not None
        ctx.user = await set_person_locale(ctx.session, ctx.user, code)
        set_locale(code)
        ctx.reply(_("From now on I will speak {language} with you.").format(language=language_name(code)))

    @command("mydata", help=N_("See what I keep about you"))
    async def mydata(self, ctx: Context, args: str) -> None:
        user = ctx.user
        assert user is not None
        memberships = (
            await ctx.session.execute(
                select(Initiative.name, Membership.role)
                .join(Membership, Membership.initiative_id == Initiative.id)
                .where(Membership.user_id == user.id)
                .order_by(Initiative.name)
            )
        ).all()
        lines = [
            _("What I keep about you:"),
            _("Name: {name}").format(name=user.display_name),
            _("Language: {language}").format(
                language=language_name(user.locale) if user.locale else _(
                    "{language} (not chosen: choose with /language)").format(language=language_name(current_locale()))
            ),
        ]
        for name, role in memberships:
            label = _("organiser") if role >= Role.ORGANISER else _("member")
            lines.append(_("Initiative: {name} ({role})").format(name=name, role=label))
        for interlinker in self.services.interlinkers.values():
            lines.extend(await interlinker.describe_user_data(ctx.session, user.id))
        lines.append(_("Send /forgetme to erase it. Decisions already made keep their anonymous counts."))
        ctx.reply("\n".join(lines))

    @command("forgetme", help=N_("Erase what I keep about you"))
    async def forgetme(self, ctx: Context, args: str) -> None:
        user = ctx.user
        assert user is not None
        if args.strip().lower() != _("confirm").lower() and args.strip().lower() != "confirm":
            ctx.reply(
                _(
                    "This erases your name, language and memberships, withdraws your votes in polls that are "
                    "still open, and unlinks you from decisions already made (their counts stay, anonymously). "
                    "It cannot be undone. To go ahead, send: /forgetme {word}"
                ).format(word=_("confirm"))
            )
            return
        for interlinker in self.services.interlinkers.values():
            await interlinker.forget_user(ctx.session, user.id)
        await ctx.end_dialog()
        await forget_person(ctx.session, user)
        ctx.user = None
        ctx.reply(_("Done: I have erased what I kept about you. If you write again, you start as a new member."))

    @command("cancel", help=N_("Stop what you were doing"))
    async def cancel(self, ctx: Context, args: str) -> None:
        if await ctx.end_dialog():
            ctx.reply(_("Cancelled. Nothing was saved."))
        else:
            ctx.reply(_("There is nothing to cancel."))
