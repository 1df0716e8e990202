"""The dispatcher: one update, one transaction, a fixed middleware pipeline, exactly one handler.

Pipeline, in this order for every kind of event (no per-event-type ordering traps):
``transaction`` (dedup by update id, one session) → ``identity`` (user, initiative, membership) →
``locale`` → ``permissions`` (role from the store and the network) → routing to a handler.
A ``UserError`` from a handler rolls back the whole update and shows its message; the update still
counts as processed, so a redelivery does not answer twice.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.adapter import HandleResult
from bot.buttons import PayloadError
from bot.context import Context
from bot.errors import PermissionDenied, StoreUnavailable, UserError
from bot.events import ButtonPress, Command, NativePollAnswer, Reply, Text, Update
from bot.i18n import _, match_locale, set_locale
from bot.interlinker import CommandSpec, Interlinker
from bot.roles import Role
from storage.models import ChatLink, Initiative, Membership, ProcessedUpdate, User

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)


@dataclass
class Scope:
    """What the middleware builds up for one update."""

    update: Update
    session: AsyncSession | None = None
    ctx: Context | None = None
    duplicate: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


Next = Callable[[Scope], Awaitable[None]]
Middleware = Callable[[Scope, Next], Awaitable[None]]


class Dispatcher:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.commands: dict[str, tuple[Interlinker, CommandSpec]] = {}
        self.middleware: list[Middleware] = [self._transaction, self._identity, self._locale, self._permissions]

    def register(self, interlinker: Interlinker) -> None:
        for spec in type(interlinker).commands.values():
            for name in (spec.name, *spec.aliases):
                if name in self.commands:
                    other = self.commands[name][0].name
                    raise RuntimeError(f"/{name} is declared by both {other!r} and {interlinker.name!r}")
                self.commands[name] = (interlinker, spec)

    def visible_commands(self, role: Role) -> list[CommandSpec]:
        seen: dict[str, CommandSpec] = {}
        for _interlinker, spec in self.commands.values():
            if spec.role <= role:
                seen.setdefault(spec.name, spec)
        return list(seen.values())

    async def handle(self, update: Update) -> HandleResult:
        scope = Scope(update)
        chain: Next = self._route
        for middleware in reversed(self.middleware):
            chain = _bind(middleware, chain)
        try:
            await chain(scope)
        except (OperationalError, InterfaceError, OSError) as exc:
            raise StoreUnavailable(str(exc)) from exc
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise StoreUnavailable(str(exc)) from exc
            raise
        if scope.duplicate or scope.ctx is None:
            return HandleResult(duplicate=scope.duplicate)
        ctx = scope.ctx
        for action in ctx.after_commit:
            try:
                await action()
            except Exception:
                log.exception("after-commit action failed")
        await self.services.deliver(update.chat, ctx.outgoing, origin=_origin(update))
        return HandleResult()

    # --- middleware --------------------------------------------------------------------------------

    async def _transaction(self, scope: Scope, call_next: Next) -> None:
        """One transaction per update. A ``UserError`` rolls all of it back (bad input changes nothing)
        and the update is then marked processed on its own, so a redelivery does not answer twice."""
        try:
            async with self.services.sessions.begin() as session:
                if not await self._mark_processed(session, scope.update):
                    scope.duplicate = True
                    return
                scope.session = session
                await call_next(scope)
                if scope.ctx is not None:
                    self.services.stage(session, scope.update.chat, scope.ctx.outgoing, _origin(scope.update))
        except UserError as exc:
            if scope.ctx is not None:
                scope.ctx.outgoing[:] = [Reply(str(exc))]
                scope.ctx.after_commit.clear()
            async with self.services.sessions.begin() as session:
                scope.duplicate = not await self._mark_processed(session, scope.update)
                if scope.ctx is not None and not scope.duplicate:
                    self.services.stage(session, scope.update.chat, scope.ctx.outgoing, _origin(scope.update))

    @staticmethod
    async def _mark_processed(session: AsyncSession, update: Update) -> bool:
        insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
        statement = insert(ProcessedUpdate).values(platform=update.chat.platform, update_id=update.update_id)
        result = await session.execute(statement.on_conflict_do_nothing())
        return bool(result.rowcount)

    async def _identity(self, scope: Scope, call_next: Next) -> None:
        """Who speaks, in which initiative, with which role: two queries on the hot path."""
        session, update = scope.session, scope.update
        assert session is not None
        ref, chat = update.user, update.chat
        initiative = await session.scalar(
            select(Initiative)
            .join(ChatLink, ChatLink.initiative_id == Initiative.id)
            .where(ChatLink.platform == chat.platform, ChatLink.chat_id == chat.chat_id)
        )
        if initiative is None:
            settings = self.services.settings
            initiative = Initiative(
                name=(chat.title or ref.display_name or chat.chat_id)[:200],
                timezone=settings.timezone,
                locale=match_locale(ref.language) or settings.default_locale,
            )
            session.add(initiative)
            await session.flush()
            session.add(ChatLink(platform=chat.platform, chat_id=chat.chat_id, initiative_id=initiative.id,
                                 title=chat.title))
        found = (
            await session.execute(
                select(User, Membership)
                .outerjoin(
                    Membership, (Membership.user_id == User.id) & (Membership.initiative_id == initiative.id)
                )
                .where(User.platform == ref.platform, User.platform_user_id == ref.user_id)
            )
        ).first()
        user, membership = (found[0], found[1]) if found is not None else (None, None)
        name = ref.display_name[:200]
        if user is None:
            user = User(platform=ref.platform, platform_user_id=ref.user_id, display_name=name)
            session.add(user)
            await session.flush()
        elif user.display_name != name:
            user.display_name = name
        if membership is None:
            has_members = await session.scalar(
                select(Membership.user_id).where(Membership.initiative_id == initiative.id).limit(1)
            )
            role = Role.MEMBER if has_members is not None else Role.ORGANISER
            membership = Membership(initiative_id=initiative.id, user_id=user.id, role=int(role))
            session.add(membership)
        scope.ctx = Context(self.services, session, chat, initiative, user, ref, Role(membership.role))
        await call_next(scope)

    async def _locale(self, scope: Scope, call_next: Next) -> None:
        ctx = scope.ctx
        assert ctx is not None and ctx.user is not None
        set_locale(ctx.user.locale or match_locale(scope.update.user.language) or ctx.initiative.locale)
        await call_next(scope)

    async def _permissions(self, scope: Scope, call_next: Next) -> None:
        ctx = scope.ctx
        assert ctx is not None
        adapter = self.services.adapter_for(scope.update.chat)
        if adapter is not None:
            granted = await adapter.platform_role(scope.update.chat, scope.update.user)
            if granted is not None and granted > ctx.role:
                ctx.role = granted
        await call_next(scope)

    # --- routing -----------------------------------------------------------------------------------

    async def _route(self, scope: Scope) -> None:
        assert scope.ctx is not None
        await self._call_handler(scope.ctx, scope.update)

    async def _call_handler(self, ctx: Context, update: Update) -> None:
        event = update.event
        if isinstance(event, Command):
            await self._command(ctx, event)
        elif isinstance(event, ButtonPress):
            await self._button(ctx, event.payload)
        elif isinstance(event, NativePollAnswer):
            await self._native_poll(ctx, event)
        elif isinstance(event, Text):
            await self._text(ctx, event.text)

    async def _command(self, ctx: Context, event: Command) -> None:
        found = self.commands.get(event.name.lower())
        if found is None:
            raise UserError(
                _("I don't know the command /{name}. Send /help to see what you can do.").format(
                    name=event.name[:64]
                )
            )
        interlinker, spec = found
        if spec.role > ctx.role:
            raise PermissionDenied(_("Only organisers can use /{name}.").format(name=spec.name))
        await getattr(interlinker, spec.handler)(ctx, event.args.strip())

    async def _button(self, ctx: Context, payload: str) -> None:
        try:
            parsed = self.services.signer.verify(payload)
            interlinker = self.services.interlinkers[parsed.interlinker]
            handler = getattr(interlinker, type(interlinker).buttons[parsed.kind])
        except (PayloadError, KeyError):
            raise UserError(_("This button is not valid any more. Send /help to start again.")) from None
        await handler(ctx, *parsed.args)

    async def _native_poll(self, ctx: Context, event: NativePollAnswer) -> None:
        key = event.key
        if key is None and event.payloads:
            try:
                key = self.services.signer.verify(event.payloads[0]).interlinker
            except PayloadError:
                raise UserError(_("This button is not valid any more. Send /help to start again.")) from None
        if key is None:
            return
        interlinker = self.services.interlinkers.get(key.split(":")[0])
        if interlinker is not None:
            await interlinker.on_native_poll_answer(ctx, key, event.payloads)

    async def _text(self, ctx: Context, text: str) -> None:
        dialog = await ctx.current_dialog()
        if dialog is not None and dialog.expires_at < datetime.now(UTC):
            await ctx.end_dialog()
            dialog = None
        if dialog is None:
            if ctx.chat.is_private:
                ctx.reply(_("Send /help to see what you can do."))
            return
        interlinker = self.services.interlinkers.get(dialog.interlinker)
        method = type(interlinker).dialogs.get(dialog.dialog) if interlinker else None
        if interlinker is None or method is None:
            await ctx.end_dialog()
            return
        await getattr(interlinker, method)(ctx, text, dialog.step, dict(dialog.data))


def _origin(update: Update) -> str:
    return f"{update.chat.platform}:{update.update_id}"


def _bind(middleware: Middleware, call_next: Next) -> Next:
    async def step(scope: Scope) -> None:
        await middleware(scope, call_next)

    return step
