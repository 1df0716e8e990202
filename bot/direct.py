"""Messages to one person, from wherever something happened (a group, a job): their private chat.

A private chat is known once the person wrote there (``opened``); a network that can open one itself
(Matrix: a direct room) says so with ``Adapter.direct_chat``. Otherwise the message is held, if the caller
asks, and released the moment the person opens a private chat with the bot (Telegram lets a bot write
only to people who started it). Messages are rendered in the person's language and time zone, and are
staged in the caller's transaction like every reply, so a crash loses none and sends none twice.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import codec
from bot.events import ChatRef, Outgoing
from storage.hot import Hot
from storage.models import DirectChat, HeldMessage, User
from storage.sql import dialect_insert, is_postgres, table_of

if TYPE_CHECKING:
    from bot.adapter import Adapter


@dataclass(frozen=True, slots=True)
class Recipient:
    """Someone a message is meant for alone: how to address them and in which language and zone."""

    id: int
    platform: str
    platform_user_id: str
    display_name: str
    locale: str | None
    timezone: str | None
    chat_id: str | None  # their private chat with the bot, when they opened one

    def zone(self, fallback: str) -> ZoneInfo:
        return ZoneInfo(self.timezone or fallback)


async def recipient(session: AsyncSession, user_id: int) -> Recipient | None:
    row = (await session.execute(
        select(User.id, User.platform, User.platform_user_id, User.display_name, User.locale, User.timezone,
               DirectChat.chat_id)
        .outerjoin(DirectChat, DirectChat.user_id == User.id).where(User.id == user_id))).first()
    return None if row is None else Recipient(*row)


def private_chat(person: Recipient, adapters: Mapping[str, Adapter]) -> ChatRef | None:
    """Where ``person`` reads what is meant for them alone: the private chat they opened with the bot, or
    one their network opens itself (``Adapter.direct_chat``); None when neither exists yet."""
    if person.chat_id is not None:
        return ChatRef(person.platform, person.chat_id, is_private=True)
    adapter = adapters.get(person.platform)
    return adapter.direct_chat(person.platform_user_id) if adapter is not None else None


_direct = table_of(DirectChat)
# A held message older than this is stale when the person finally opens the chat (an alert about a poll
# long closed): it is dropped rather than delivered.
HELD_FOR = timedelta(days=14)


@functools.cache
def _opened(postgres: bool) -> Hot:
    statement = dialect_insert(postgres, _direct).on_conflict_do_nothing(index_elements=["user_id"])
    return Hot(statement.returning(_direct.c.user_id))


async def opened(session: AsyncSession, chat: ChatRef, user_id: int) -> list[Outgoing]:
    """``user_id`` wrote in private ``chat``: remember it, and return what was held for them (first time
    only: once the chat is known nothing is held any more)."""
    fresh = (await _opened(is_postgres(session)).run(session, {"user_id": user_id, "chat_id": chat.chat_id})).rows
    if not fresh:
        return []
    held = (await session.scalars(
        delete(HeldMessage).where(HeldMessage.user_id == user_id).returning(HeldMessage))).all()
    fresh_since = datetime.now(UTC) - HELD_FOR
    return [codec.decode(row.message) for row in sorted(held, key=lambda row: row.id)
            if row.created_at.replace(tzinfo=row.created_at.tzinfo or UTC) >= fresh_since]


async def hold(session: AsyncSession, user_id: int, messages: list[Outgoing]) -> None:
    for message in messages:
        session.add(HeldMessage(user_id=user_id, message=codec.encode(message)))


__all__ = ["HELD_FOR", "Recipient", "hold", "opened", "private_chat", "recipient"]
