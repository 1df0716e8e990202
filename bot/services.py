"""Application-wide services handed to Interlinkers: store, signer, scheduler, outbox, delivery."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import codec
from bot.adapter import _delivery
from bot.buttons import Signer
from bot.config import Settings
from bot.events import ChatRef, Edit, Notice, Outgoing, Reply
from bot.scheduler import Scheduler
from storage.models import PendingReply, SentMessage
from storage.outbox import OutboxWorker

if TYPE_CHECKING:
    from bot.adapter import Adapter
    from bot.dispatcher import Dispatcher
    from bot.interlinker import CommandSpec, Interlinker
    from bot.roles import Role

log = logging.getLogger(__name__)
MESSAGE_ID_CACHE = 10_000  # keyed messages whose platform ids are kept in memory (the store has them all)


@dataclass
class Services:
    settings: Settings
    sessions: async_sessionmaker
    pa_sessions: async_sessionmaker
    signer: Signer
    scheduler: Scheduler
    outbox: OutboxWorker
    adapters: dict[str, Adapter] = field(default_factory=dict)
    interlinkers: dict[str, Interlinker] = field(default_factory=dict)
    dispatcher: Dispatcher | None = None
    _message_ids: dict[tuple[str, str, str], str] = field(default_factory=dict, repr=False)

    def dispatcher_commands(self, role: Role) -> list[CommandSpec]:
        assert self.dispatcher is not None
        return self.dispatcher.visible_commands(role)

    def adapter_for(self, chat: ChatRef) -> Adapter | None:
        return self.adapters.get(chat.platform)

    def stage(self, session: AsyncSession, chat: ChatRef, messages: Sequence[Outgoing], origin: str) -> None:
        """Keep ``messages`` in the store, in the transaction that decided them, until they are sent.
        Notices are not kept: a confirmation re-sent after a crash would only confuse."""
        session.add_all(
            PendingReply(
                origin=origin, position=index, platform=chat.platform, chat_id=chat.chat_id,
                thread_id=chat.thread_id, chat_title=chat.title, is_private=chat.is_private,
                message=codec.encode(message),
            )
            for index, message in enumerate(messages)
            if not isinstance(message, Notice)
        )

    async def deliver(
        self,
        chat: ChatRef,
        messages: Sequence[Outgoing],
        origin: str,
        positions: Sequence[int] | None = None,
        again: bool = False,
    ) -> None:
        """Hand staged messages to the chat's adapter, then forget them; remember keyed messages so later
        edits find them.

        Runs after the transaction committed: a failure here is logged, never undoes the update. Each
        message's ``delivery_id`` is ``origin/position``, stable when a crash makes us send it again.
        """
        adapter = self.adapter_for(chat)
        if adapter is None:
            log.warning("no adapter for platform %r; %d message(s) kept for later", chat.platform, len(messages))
            return
        for index, message in zip(positions or range(len(messages)), messages, strict=True):
            token = _delivery.set(f"{origin}/{index}")
            try:
                if isinstance(message, Edit):
                    if not adapter.capabilities.edits:
                        continue
                    message_id = await self._message_id(chat, message.key)
                    if message_id is None:
                        continue
                    await adapter.send(chat, replace(message, message_id=message_id))
                    continue
                key = message.key if isinstance(message, Reply) else None
                if again and key is not None and await self._message_id(chat, key) is not None:
                    continue  # shown before the crash: its id was stored
                message_id = await adapter.send(chat, message)
                if key is not None and message_id is not None:
                    await self._remember(chat, key, message_id)
            except Exception:
                log.exception("could not deliver a message to %s:%s", chat.platform, chat.chat_id)
            finally:
                _delivery.reset(token)
        if any(not isinstance(message, Notice) for message in messages):  # only those were staged
            try:
                # One autocommitted statement: this runs for every update, so no BEGIN/COMMIT round trips.
                engine = self.sessions.kw["bind"]
                async with engine.connect() as connection:
                    autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
                    await autocommit.execute(delete(PendingReply).where(PendingReply.origin == origin))
            except Exception:
                log.exception("delivered replies of %s not marked; they may be sent again", origin)

    async def pending_replies(self) -> list[PendingReply]:
        """What a crash left between commit and delivery; read before the adapters start receiving, so
        replies of new updates (delivered by their own handling) are not among them."""
        async with self.sessions() as session:
            return list(await session.scalars(select(PendingReply).order_by(PendingReply.id)))

    async def deliver_pending(self, rows: list[PendingReply]) -> int:
        """Send the replies read by ``pending_replies``, oldest first, with their original delivery ids."""
        by_origin: dict[str, list[PendingReply]] = {}
        for row in rows:
            if row.platform in self.adapters:
                by_origin.setdefault(row.origin, []).append(row)
        for origin, group in by_origin.items():
            head = group[0]
            chat = ChatRef(head.platform, head.chat_id, head.thread_id, head.chat_title, head.is_private)
            log.info("sending %d reply(ies) of %s left by an interrupted run", len(group), origin)
            messages = [codec.decode(row.message) for row in group]
            await self.deliver(chat, messages, origin, [row.position for row in group], again=True)
        return sum(len(group) for group in by_origin.values())

    async def _message_id(self, chat: ChatRef, key: str) -> str | None:
        cache_key = (chat.platform, chat.chat_id, key)
        if (cached := self._message_ids.get(cache_key)) is not None:
            return cached
        async with self.sessions() as session:
            row = await session.get(SentMessage, cache_key)
            return None if row is None else row.message_id

    async def _remember(self, chat: ChatRef, key: str, message_id: str) -> None:
        if len(self._message_ids) >= MESSAGE_ID_CACHE:
            self._message_ids.pop(next(iter(self._message_ids)))
        self._message_ids[(chat.platform, chat.chat_id, key)] = message_id
        async with self.sessions.begin() as session:
            row = await session.get(SentMessage, (chat.platform, chat.chat_id, key))
            if row is None:
                session.add(SentMessage(platform=chat.platform, chat_id=chat.chat_id, key=key, message_id=message_id))
            else:
                row.message_id = message_id
