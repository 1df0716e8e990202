"""Application-wide services handed to Interlinkers: store, signer, jobs, outbox, deliveries, sender, leases."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.adapter import _delivery
from bot.buttons import Signer
from bot.config import Settings
from bot.events import ChatRef, Notice, Outgoing, Update
from bot.jobs import JobQueue
from bot.ledger import LedgerKey
from bot.sender import Sender, lane_of, origin_of, stage
from storage.deliveries import DeliveryWorker
from storage.leases import Leases
from storage.outbox import OutboxWorker

if TYPE_CHECKING:
    from bot.adapter import Adapter
    from bot.dispatcher import Dispatcher
    from bot.interlinker import CommandSpec, Interlinker
    from bot.roles import Role

log = logging.getLogger(__name__)
DIRECT_LANE = "direct"


def _direct_origin(origin: str, chat: ChatRef) -> str:
    return f"{origin}>{chat.chat_id}"


@dataclass
class Services:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    pa_sessions: async_sessionmaker[AsyncSession]
    signer: Signer
    jobs: JobQueue
    outbox: OutboxWorker
    leases: Leases
    sender: Sender
    deliveries: DeliveryWorker
    ledger_key: LedgerKey
    adapters: dict[str, Adapter] = field(default_factory=dict)
    interlinkers: dict[str, Interlinker] = field(default_factory=dict)
    dispatcher: Dispatcher | None = None

    def dispatcher_commands(self, role: Role) -> list[tuple[Interlinker, CommandSpec]]:
        assert self.dispatcher is not None
        return self.dispatcher.visible_commands(role)

    def adapter_for(self, chat: ChatRef) -> Adapter | None:
        return self.adapters.get(chat.platform)

    async def stage_replies(self, session: AsyncSession, update: Update, messages: Sequence[Outgoing]) -> None:
        """Keep an update's replies in its transaction, in the lane of the person who sent it."""
        await stage(session, update.chat, messages, origin_of(update),
              lane_of(self.settings.secret, update.user.user_id))

    @staticmethod
    async def stage_directs(session: AsyncSession, origin: str,
                            directs: Sequence[tuple[ChatRef, Sequence[Outgoing]]]) -> None:
        """Keep messages for people's private chats (``Context.direct``) in the same transaction."""
        for chat, messages in directs:
            await stage(session, chat, messages, _direct_origin(origin, chat), DIRECT_LANE)

    async def deliver_directs(self, origin: str, directs: Sequence[tuple[ChatRef, Sequence[Outgoing]]]) -> None:
        for chat, messages in directs:
            await self.deliver(chat, messages, origin=_direct_origin(origin, chat))

    async def deliver(self, chat: ChatRef, messages: Sequence[Outgoing], origin: str) -> None:
        """After commit: show the Notices now (they belong to this moment, e.g. a button's pop-up) and
        wake the sender for the rest, which the transaction kept in the store. Adapters that answer in
        the same breath (the console, Matrix) wait until their replies are out; Telegram does not, so
        receiving never waits on a rate limit."""
        adapter = self.adapter_for(chat)
        if adapter is None:
            return
        for index, message in enumerate(messages):
            if not isinstance(message, Notice):
                continue
            token = _delivery.set(f"{origin}/{index}")
            try:
                await adapter.send(chat, message)
            except Exception:
                log.exception("could not show a notice in %s:%s", chat.platform, chat.chat_id)
            finally:
                _delivery.reset(token)
        if any(not isinstance(message, Notice) for message in messages):
            if adapter.waits_for_replies:
                await self.sender.wait_sent(chat, origin)
            else:
                self.sender.kick(chat)
