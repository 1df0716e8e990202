"""The dispatcher: one update, one transaction, a fixed middleware pipeline, exactly one handler.

Pipeline, in this order for every kind of event (no per-event-type ordering traps):
``transaction`` (dedup by update id, one session) → ``identity`` (user, initiative, membership) →
``locale`` → ``permissions`` (role from the store and the network) → routing to a handler.
A ``UserError`` from a handler rolls back the whole update and shows its message; the update still
counts as processed, so a redelivery does not answer twice.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, String, bindparam, delete, func, literal, select, true
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import codec, direct
from bot.adapter import HandleResult
from bot.buttons import PayloadError
from bot.context import Context
from bot.errors import PermissionDenied, StoreUnavailable, UserError
from bot.events import ButtonPress, Command, Location, NativePollAnswer, Notice, Outgoing, Photo, Reply, Text, Update
from bot.i18n import _, match_locale, set_locale
from bot.identity import identify, looked_up, who_columns, who_params
from bot.interlinker import CommandSpec, Interlinker
from bot.jobs import chat_lock
from bot.roles import Role
from bot.sender import origin_of
from storage.hot import Hot
from storage.models import DeadLetter, ProcessedUpdate, utcnow
from storage.sql import affected, dialect_insert, is_postgres, lock_for_transaction, lock_key, table_of, unreachable

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)
ATTEMPTS = 4  # tries of one update that runs into a database conflict before it is a dead letter


@dataclass
class Scope:
    """What the middleware builds up for one update."""

    update: Update
    session: AsyncSession | None = None
    ctx: Context | None = None
    duplicate: bool = False
    granted: Role | None = None
    replay_of: int | None = None
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

    def visible_commands(self, role: Role) -> list[tuple[Interlinker, CommandSpec]]:
        """The commands someone with ``role`` may use, each with the Interlinker that answers it."""
        return [(interlinker, spec) for interlinker, spec in self.commands.values() if spec.role <= role]

    async def handle(self, update: Update, replay_of: int | None = None) -> HandleResult:
        """Handle ``update`` once. A database error (a conflict two workers ran into, a deadlock) retries
        the whole update; what still fails is kept in the dead letters with a translated apology, and
        counts as handled. Raises ``StoreUnavailable`` when the store cannot be reached: nothing was
        committed, so the adapter must not acknowledge the update. ``replay_of``: a dead letter's id."""
        granted = await self._network_role(update)
        failure: Exception | None = None
        for attempt in range(ATTEMPTS):
            scope = Scope(update, granted=granted, replay_of=replay_of)
            chain: Next = self._route
            for middleware in reversed(self.middleware):
                chain = _bind(middleware, chain)
            try:
                await chain(scope)
                failure = None
                break
            except DBAPIError as exc:
                if unreachable(exc):
                    raise StoreUnavailable(str(exc)) from exc
                failure = exc
                log.warning("update %s: %s (attempt %d); retrying", update.update_id,
                            type(exc.orig).__name__ if exc.orig else exc, attempt + 1)
                await asyncio.sleep(0.01 * (attempt + 1) + random.random() * 0.02)
            except Exception as exc:
                if unreachable(exc):
                    raise StoreUnavailable(str(exc)) from exc
                failure = exc
                break
        if failure is not None:
            try:
                apology = await self._dead_letter(update, failure, replay_of)
            except Exception as exc:
                if unreachable(exc):
                    raise StoreUnavailable(str(exc)) from exc
                raise
            if apology is None:
                return HandleResult(duplicate=True)
            await self.services.deliver(update.chat, apology, origin=origin_of(update))
            return HandleResult()
        if scope.duplicate or scope.ctx is None:
            return HandleResult(duplicate=scope.duplicate)
        ctx = scope.ctx
        for action in ctx.after_commit:
            try:
                await action()
            except Exception:
                log.exception("after-commit action failed")
        await self.services.deliver(update.chat, ctx.outgoing, origin=origin_of(update))
        if ctx.directs:
            await self.services.deliver_directs(origin_of(update), ctx.directs)
        return HandleResult()

    async def _network_role(self, update: Update) -> Role | None:
        """The role the network grants (chat admin, power level), asked before any transaction opens:
        a slow network call must never hold the store's locks."""
        adapter = self.services.adapter_for(update.chat)
        if adapter is None:
            return None
        try:
            return await adapter.platform_role(update.chat, update.user)
        except Exception as exc:
            log.warning("role of %s in %s unknown: %s", update.user.user_id, update.chat.chat_id, exc)
            return None

    async def _dead_letter(self, update: Update, failure: Exception, replay_of: int | None) -> list[Outgoing] | None:
        """Keep ``update`` whole, mark it handled and stage a translated apology, in one transaction;
        return the apology to deliver (None: the update had been handled before)."""
        log.error("update %s failed; kept in dead letters", update.update_id, exc_info=failure)
        async with self.services.sessions.begin() as session:
            if replay_of is not None:
                await lock_for_transaction(session, chat_lock(update.chat.platform, update.chat.chat_id))
                await session.execute(delete(DeadLetter).where(DeadLetter.id == replay_of))
            elif not await self._mark_processed(session, update):
                return None
            session.add(DeadLetter(kind="update", platform=update.chat.platform, origin=origin_of(update)[:255],
                                   payload=codec.encode_update(update), error=_describe(failure)))
            set_locale(match_locale(update.user.language) or self.services.settings.default_locale)
            apology = _("Something went wrong on our side; nothing was changed. Please try again.")
            outgoing: list[Outgoing] = [Notice(apology, alert=True) if _is_press(update) else Reply(apology)]
            await self.services.stage_replies(session, update, outgoing)
        return outgoing

    # --- middleware --------------------------------------------------------------------------------

    async def _transaction(self, scope: Scope, call_next: Next) -> None:
        """One transaction per update, serialised with every other transaction in the same chat (on
        any worker). A ``UserError`` rolls all of it back (bad input changes nothing) and the update is
        then marked processed on its own, so a redelivery does not answer twice. A UserError from a
        button is answered in the button's pop-up, never in the group."""
        update = scope.update
        try:
            async with self.services.sessions.begin() as session:
                if not await self._begin(session, scope):
                    scope.duplicate = True
                    return
                scope.session = session
                await call_next(scope)
                if scope.ctx is not None:
                    await self.services.stage_replies(session, update, scope.ctx.outgoing)
                    await self.services.stage_directs(session, origin_of(update), scope.ctx.directs)
        except UserError as exc:
            # A wrong answer in a dialog asks again: the dialog is still waiting for this person.
            answering = isinstance(update.event, Text | Location)
            message: Outgoing = (Notice(str(exc), alert=True) if _is_press(update)
                                 else Reply(str(exc), ask=answering, reply_to=update.message_id))
            if scope.ctx is not None:
                scope.ctx.outgoing[:] = [message]
                scope.ctx.directs.clear()
                scope.ctx.after_commit.clear()
            async with self.services.sessions.begin() as session:
                scope.duplicate = not await self._begin(session, scope)
                if scope.ctx is not None and not scope.duplicate:
                    await self.services.stage_replies(session, update, scope.ctx.outgoing)

    async def _begin(self, session: AsyncSession, scope: Scope) -> bool:
        """Take the chat's lock, then claim the update (False: handled before)."""
        update = scope.update
        if scope.replay_of is not None:
            await lock_for_transaction(session, chat_lock(update.chat.platform, update.chat.chat_id))
            return bool(affected(await session.execute(delete(DeadLetter).where(DeadLetter.id == scope.replay_of))))
        if is_postgres(session):  # the claim and the identity look-up in one round trip
            row = (await _claim_and_who().run(session, {**_claim_params(update),
                                                        **who_params(update.chat, update.user)})).rows[0]
            scope.extra["who"] = looked_up(row)
            return bool(row[0])
        return await self._mark_processed(session, update)

    @staticmethod
    async def _mark_processed(session: AsyncSession, update: Update) -> bool:
        """Claim ``update`` (False: claimed before), after taking its chat's lock: on PostgreSQL in the
        same statement (one round trip; the lock is taken before the row is inserted)."""
        chat = update.chat
        if is_postgres(session):
            return (await _claim(True).run(session, _claim_params(update))).rowcount > 0
        params = {"platform": chat.platform, "update_id": update.update_id, "processed_at": utcnow()}
        return (await _claim(False).run(session, params)).rowcount > 0

    async def _identity(self, scope: Scope, call_next: Next) -> None:
        """Who speaks, in which initiative, with which role: one query on the hot path."""
        session, update = scope.session, scope.update
        assert session is not None
        settings = self.services.settings
        prefetched = {"found": scope.extra.pop("who")} if "who" in scope.extra else {}
        initiative, person, role = await identify(
            session, update.chat, update.user, settings.timezone,
            match_locale(update.user.language) or settings.default_locale, **prefetched)
        scope.ctx = Context(self.services, session, update.chat, initiative, person, update.user, role,
                            message_id=update.message_id)
        if update.chat.is_private and (held := await direct.opened(session, update.chat, person.id)):
            scope.ctx.directs.append((update.chat, held))  # kept for them until they wrote here
        await call_next(scope)

    async def _locale(self, scope: Scope, call_next: Next) -> None:
        ctx = scope.ctx
        assert ctx is not None and ctx.user is not None
        set_locale(ctx.user.locale or match_locale(scope.update.user.language) or ctx.initiative.locale)
        await call_next(scope)

    async def _permissions(self, scope: Scope, call_next: Next) -> None:
        ctx = scope.ctx
        assert ctx is not None
        if scope.granted is not None and scope.granted > ctx.role:
            ctx.role = scope.granted
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
        elif isinstance(event, Location):  # an answer in a dialog, in the form one can also type
            await self._text(ctx, event.text())
        elif isinstance(event, Photo):  # an answer in a dialog: the dialog finds it in ctx.photo
            ctx.photo = event
            await self._text(ctx, event.caption)

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


def _claim_params(update: Update) -> dict[str, Any]:
    chat = update.chat
    return {"claim_platform": chat.platform, "claim_update": update.update_id,
            "lock": lock_key(chat_lock(chat.platform, chat.chat_id))}


@functools.cache
def _claim_statement() -> Any:
    """PostgreSQL: take the chat's advisory lock, then INSERT the update's id unless it is there."""
    locked = select(func.pg_advisory_xact_lock(bindparam("lock", type_=BigInteger))).subquery()
    rows = select(bindparam("claim_platform", type_=String), bindparam("claim_update", type_=String),
                  func.now()).select_from(locked)
    statement = dialect_insert(True, table_of(ProcessedUpdate)).from_select(
        ["platform", "update_id", "processed_at"], rows)
    return statement.on_conflict_do_nothing()


@functools.cache
def _claim_and_who() -> Hot:
    """PostgreSQL: the claim (a data-modifying CTE, run whether or not it is read) and the identity row,
    if the chat has one, in one statement."""
    claim = _claim_statement().returning(literal(1)).cte("claim")
    claimed = select(func.count()).select_from(claim).scalar_subquery()
    one = select(literal(1).label("one")).subquery("one")
    who = who_columns()
    return Hot(select(claimed, *who).select_from(one.outerjoin(who[0].table, true())))


@functools.cache
def _claim(postgres: bool) -> Hot:
    """INSERT the update's id unless it is there; on PostgreSQL behind the chat's advisory lock."""
    table = table_of(ProcessedUpdate)
    if not postgres:
        return Hot(dialect_insert(False, table).on_conflict_do_nothing())
    return Hot(_claim_statement())


def _is_press(update: Update) -> bool:
    return isinstance(update.event, ButtonPress | NativePollAnswer)


def _describe(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))[-4000:]


def _bind(middleware: Middleware, call_next: Next) -> Next:
    async def step(scope: Scope) -> None:
        await middleware(scope, call_next)

    return step
