"""Application-wide services handed to Interlinkers: store, signer, scheduler, outbox, delivery."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.adapter import _delivery
from bot.buttons import Signer
from bot.config import Settings
from bot.events import ChatRef, Edit, Outgoing, Reply
from bot.scheduler import Scheduler
from storage.models import SentMessage
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

    async def deliver(self, chat: ChatRef, messages: Sequence[Outgoing], origin: str) -> None:
        """Hand messages to the chat's adapter, remembering keyed messages so later edits find them.

        Runs after the update's transaction committed: a failure here is logged, never undoes the update.
        ``origin`` (the update or job) makes each message's ``delivery_id`` stable across retries.
        """
        adapter = self.adapter_for(chat)
        if adapter is None:
            log.warning("no adapter for platform %r; %d message(s) not shown", chat.platform, len(messages))
            return
        for index, message in enumerate(messages):
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
                message_id = await adapter.send(chat, message)
                if isinstance(message, Reply) and message.key and message_id is not None:
                    await self._remember(chat, message.key, message_id)
            except Exception:
                log.exception("could not deliver a message to %s:%s", chat.platform, chat.chat_id)
            finally:
                _delivery.reset(token)

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
