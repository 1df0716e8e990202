"""One initiative, several chats: an organiser's ``/link`` gives them a one-time code privately; ``/link
<code>`` sent in another chat (a Telegram group, a Matrix room, a moderators' chat) by one of its organisers
makes that chat part of the same initiative, with its polls, events, shifts, reports and outcomes.

The code goes to the organiser alone (not the group, whose members could otherwise bring a chat of their
own in); it lasts 15 minutes, is used once, and only its hash is kept."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update

from bot.context import Context
from bot.errors import UserError
from bot.events import Reply
from bot.i18n import N_, _
from bot.interlinker import Catalogue, Interlinker, command
from bot.links import token_hash
from bot.roles import Role
from storage.models import ChatLink, Initiative, LinkCode, Membership, utcday
from storage.sql import insert

CODE_LIFETIME = timedelta(minutes=15)
_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # nothing to misread: no 0/O, 1/I/L


def _new_code() -> str:
    letters = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"{letters[:4]}-{letters[4:]}"


def _normalised(typed: str) -> str:
    return "".join(ch for ch in typed.upper() if ch.isalnum())


class ChatLinking(Interlinker):
    name = "chats"
    catalogue = Catalogue(
        title=N_("Chats of an initiative"),
        description=N_("Several chats, on any network, working as one initiative."),
        problem_profiles=("ORG_PROBLEM_4",),
        targets=("citizens", "public_administrations"),
    )

    @command("link", help=N_("Make another chat part of this initiative (organisers)"), usage=N_("[code]"),
             role=Role.ORGANISER)
    async def link(self, ctx: Context, args: str) -> None:
        typed = _normalised(args)
        if typed:
            await self._redeem(ctx, typed)
            return
        if ctx.chat.is_private:
            raise UserError(_("Send /link in the group whose initiative the other chat should join."))
        code = _new_code()
        await ctx.session.execute(delete(LinkCode).where(LinkCode.expires_at < datetime.now(UTC)))
        ctx.session.add(LinkCode(code_hash=token_hash(_normalised(code)), initiative_id=ctx.initiative.id,
                                 user_id=ctx.user_id, expires_at=datetime.now(UTC) + CODE_LIFETIME))
        name = ctx.initiative.name

        def private(_person: object) -> list[Reply]:
            return [Reply(_("To make another chat part of “{initiative}”, send this there within 15 minutes, as "
                            "one of its organisers:\n/link {code}").format(initiative=name, code=code))]

        await ctx.direct(ctx.user_id, private, hold=True)
        start = ctx.link_button(_("Open the private chat"))
        ctx.reply(_("I have sent you a one-time code privately."), buttons=(start,) if start else ())

    async def _redeem(self, ctx: Context, typed: str) -> None:
        found = await ctx.session.scalar(select(LinkCode).where(LinkCode.code_hash == token_hash(typed)))
        if found is None or found.expires_at < datetime.now(UTC):
            raise UserError(_("This code is not valid (they last 15 minutes and work once). Send /link in the "
                              "initiative's group for a new one."))
        if found.initiative_id == ctx.initiative.id:
            raise UserError(_("This chat is already part of that initiative."))
        if ctx.chat.is_private:
            raise UserError(_("Send the code in the group or room to be linked, not in a private chat."))
        await ctx.session.delete(found)
        await ctx.session.execute(update(ChatLink).where(
            ChatLink.platform == ctx.chat.platform, ChatLink.chat_id == ctx.chat.chat_id).values(
            initiative_id=found.initiative_id))
        # Whoever holds the code came from that initiative's organiser: they organise it here too.
        await ctx.session.execute(insert(ctx.session, Membership).values(
            initiative_id=found.initiative_id, user_id=ctx.user_id, role=int(Role.ORGANISER),
            joined_at=utcday(),
        ).on_conflict_do_update(index_elements=[Membership.initiative_id, Membership.user_id],
                                set_={"role": int(Role.ORGANISER)}))
        name = await ctx.session.scalar(select(Initiative.name).where(Initiative.id == found.initiative_id))
        ctx.reply(_("This chat is now part of “{initiative}”: its polls, events, shifts and reports are shared "
                    "with the initiative's other chats.").format(initiative=name))


__all__ = ["ChatLinking"]
