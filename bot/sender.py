"""The sender: the one way messages leave for a network, from the store, under a lease.

Handlers and jobs write what they say to ``pending_replies`` in their own transaction. For each network,
the worker holding the lease ``send:<platform>`` drains that table: one task per chat, each message
handed to the adapter and deleted only once the adapter returns, which it does only when the network
accepted it. So a crash (or SIGKILL) at any point loses nothing: what was not accepted is still a row
and is sent by the next holder. One sender per network also means the network's rate limits hold for
all workers together, and across a change of holder too: the adapter counts its sends in windows that
start empty, so a worker taking over the lease first lets the previous holder's last sends age out of
the network's short windows (``HANDOVER``) before it sends anything.

Per chat, messages go out oldest first, but a chat's senders are served in turn (``lane``: a keyed hash
of who caused the message), so one member flooding a group does not bury the others' answers behind the
group's rate limit. All pending versions of one keyed message (a poll and its edits) go out as one
message with the newest content: the message always ends showing the last committed state.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from bot import codec
from bot.adapter import _delivery
from bot.backoff import Backoff
from bot.errors import Undeliverable
from bot.events import ChatRef, Edit, Notice, Outgoing, Reply, Update
from storage.engine import connect
from storage.hot import Hot
from storage.leases import Leases
from storage.models import PendingReply, SentMessage
from storage.sql import insert, table_of

if TYPE_CHECKING:
    from bot.adapter import Adapter

log = logging.getLogger(__name__)
SCAN_SHARED = 0.25  # seconds between looks for rows other workers wrote (PostgreSQL)
SCAN_ALONE = 10.0  # the same with SQLite, where only this process writes (a safety net)
# Seconds a worker taking over a send lease on PostgreSQL waits before its first send. The previous holder
# (maybe SIGKILLed an instant ago: the server frees its lease at once) sent up to its end, and Telegram
# still counts those sends in its 1-second windows (global, per chat) while this worker's adapter starts
# with empty ones: without the wait the two together exceeded the global limit. 1 s plus a margin for the
# previous holder's requests still on their way. A worker that took the lease at its first try takes
# over from nobody it saw (a holder that died before this process started did so at least a start-up
# ago) and sends at once. (A per-minute window, per group, is not waited out: a 429 there pauses that
# one chat, and its messages wait in the store.)
HANDOVER = 1.5
MAX_FAILURES = 5
MESSAGE_ID_CACHE = 10_000
JOB_LANE = "job"


def lane_of(secret: str, user_id: str) -> str:
    """Who caused a message, as a keyed hash: enough to take turns, useless to anyone reading the store."""
    return hmac.new(secret.encode(), b"lane:" + user_id.encode(), hashlib.sha256).hexdigest()[:16]


def origin_of(update: Update) -> str:
    """Where an update's messages come from: with their position, their stable delivery id."""
    return f"{update.chat.platform}:{update.update_id}"


async def stage(session: AsyncSession, chat: ChatRef, messages: Sequence[Outgoing], origin: str,
                lane: str) -> None:
    """Keep ``messages`` in ``session``'s transaction until sent. Notices are not kept: they belong to
    the moment (a button's pop-up) and a re-sent confirmation would only confuse."""
    rows = [
        {"origin": origin, "position": index, "platform": chat.platform, "chat_id": chat.chat_id,
         "thread_id": chat.thread_id, "chat_title": chat.title, "is_private": chat.is_private,
         "message": codec.encode(message), "lane": lane}
        for index, message in enumerate(messages)
        if not isinstance(message, Notice)
    ]
    for row in rows:
        await _STAGE.run(session, row)


class _Row(NamedTuple):
    """A pending_replies row, in the table's column order."""

    id: int
    origin: str
    position: int
    platform: str
    chat_id: str
    thread_id: str | None
    chat_title: str | None
    is_private: bool
    message: dict[str, Any]
    created_at: Any
    lane: str


_pending = table_of(PendingReply)
_STAGE = Hot(_pending.insert())
_PENDING = Hot(select(*(_pending.c[name] for name in _Row._fields)).where(_pending.c.platform == bindparam("platform"),
                                   _pending.c.chat_id == bindparam("chat"))
            .order_by(_pending.c.id).limit(bindparam("window")))
_GONE = delete(_pending).where(_pending.c.id == bindparam("sent")).cte("gone")
_SENT_AND_NEXT = Hot(  # PostgreSQL: forget the sent row and read the next ones in one round trip
    select(*(_pending.c[name] for name in _Row._fields)).add_cte(_GONE)
    .where(_pending.c.platform == bindparam("platform"), _pending.c.chat_id == bindparam("chat"),
           _pending.c.id != bindparam("sent"))
    .order_by(_pending.c.id).limit(bindparam("window")))


async def _read(where: AsyncSession | AsyncConnection, platform: str, chat_id: str) -> list[_Row]:
    outcome = await _PENDING.run(where, {"platform": platform, "chat": chat_id, "window": WINDOW})
    return [_Row(*row) for row in outcome.rows]
_SENT = delete(_pending).where(_pending.c.id.in_(bindparam("ids", expanding=True)))
WINDOW = 500  # rows of one chat looked at per message: its keyed versions coalesce within it


@dataclass
class _Group:
    """The rows sent as one message: usually one; a keyed message and all its pending edits."""

    rows: list[Any]  # pending_replies rows
    message: Outgoing


class Sender:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], leases: Leases,
                 adapters: dict[str, Adapter]) -> None:
        self._sessions = sessions
        engine = sessions.kw["bind"]
        assert isinstance(engine, AsyncEngine), "the sender's sessions are bound to one engine"
        # One statement needs no transaction: on PostgreSQL autocommit saves BEGIN and COMMIT; SQLite's
        # driver begins only before a write anyway (and resetting its isolation level costs a PRAGMA).
        self._autocommit = engine if engine.dialect.name == "sqlite" else engine.execution_options(
            isolation_level="AUTOCOMMIT")
        self._leases = leases
        self._adapters = adapters
        self._shared = leases.shared
        self._holders: dict[str, asyncio.Task[None]] = {}
        self._sending: set[str] = set()  # platforms whose lease is held here and past its handover
        self._drains: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._kicked: set[tuple[str, str]] = set()  # chats with rows committed since their drain last looked
        self._turn: dict[tuple[str, str], str] = {}
        self._waiters: dict[tuple[str, str], list[tuple[str, asyncio.Future[None]]]] = {}
        self._message_ids: dict[tuple[str, str, str], str] = {}

    # --- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        for platform in self._adapters:
            body = self._serve_factory(platform)
            self._holders[platform] = asyncio.create_task(
                self._leases.run_while_held(f"send:{platform}", body), name=f"sender-{platform}")

    async def stop(self, within: float = 5.0) -> None:
        """Let the chats being drained finish for ``within`` seconds; what is left stays in the store."""
        if self._drains:
            await asyncio.wait(list(self._drains.values()), timeout=within)
        for task in [*self._holders.values(), *self._drains.values()]:
            task.cancel()
        for task in [*self._holders.values(), *self._drains.values()]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._holders.clear()
        self._drains.clear()

    def holds(self, platform: str) -> bool:
        """True when this worker sends for ``platform``: it holds the lease, and its handover is over."""
        return platform in self._sending and f"send:{platform}" in self._leases.held

    # --- notifications -----------------------------------------------------------------------------

    def kick(self, chat: ChatRef) -> None:
        """Rows for ``chat`` were committed: drain them now if this worker sends for its network."""
        if not self.holds(chat.platform):
            return
        key = chat.key
        self._kicked.add(key)
        if key not in self._drains:
            self._drains[key] = asyncio.create_task(self._drain(*key), name=f"send-{key[0]}-{key[1]}")

    async def wait_sent(self, chat: ChatRef, origin: str, within: float = 30.0) -> None:
        """Return once every row of ``origin`` for ``chat`` left (or ``within`` seconds passed): sent by
        this worker, or by whichever holds the send lease (polled from the store)."""
        if not self.holds(chat.platform):
            deadline = asyncio.get_running_loop().time() + within
            while asyncio.get_running_loop().time() < deadline:
                try:
                    async with self._sessions() as session:
                        left = await session.scalar(select(PendingReply.id).where(
                            PendingReply.platform == chat.platform, PendingReply.chat_id == chat.chat_id,
                            PendingReply.origin == origin).limit(1))
                except Exception:
                    return
                if left is None:
                    return
                if self.holds(chat.platform):
                    break
                await asyncio.sleep(0.05)
            else:
                return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(chat.key, []).append((origin, future))
        self.kick(chat)
        drain = self._drains.get(chat.key)
        await asyncio.wait({future} if drain is None else {future, drain}, timeout=within,
                           return_when=asyncio.FIRST_COMPLETED)  # sent, or the drain ended (crashed)

    # --- draining ----------------------------------------------------------------------------------

    def _serve_factory(self, platform: str) -> Callable[[], Coroutine[Any, Any, None]]:
        """What the holder of ``send:<platform>`` runs: look for chats with pending rows, now and then
        (rows this worker commits are kicked at once; the look finds those of other workers)."""
        async def serve() -> None:
            try:
                if f"send:{platform}" in self._leases.contested:  # rows committed meanwhile wait in
                    await asyncio.sleep(HANDOVER)  # the store; the first scan finds them
                self._sending.add(platform)
                await scan()
            finally:  # the lease is gone (or we stop): no chat of this network is drained here any more
                self._sending.discard(platform)
                for (drained, _chat), task in list(self._drains.items()):
                    if drained == platform:
                        task.cancel()

        async def scan() -> None:
            while True:
                try:
                    async with self._sessions() as session:
                        chats = (await session.execute(
                            select(PendingReply.chat_id).where(PendingReply.platform == platform).distinct()
                        )).scalars().all()
                    for chat_id in chats:
                        self.kick(ChatRef(platform, chat_id))
                except Exception as exc:
                    log.warning("sender %s: store unavailable (%s)", platform, exc)
                await asyncio.sleep(SCAN_SHARED if self._shared else SCAN_ALONE)

        return serve

    async def _drain(self, platform: str, chat_id: str) -> None:
        key = (platform, chat_id)
        failures = 0
        backoff = Backoff()
        rows: list[_Row] | None = None  # None: read them (afresh, or after a failure)
        try:
            while True:
                if rows is None:
                    self._kicked.discard(key)
                    try:
                        async with connect(self._autocommit) as connection:  # one statement: no transaction
                            rows = await _read(connection, platform, chat_id)
                    except Exception as exc:
                        log.warning("sender: store unavailable (%s); chat %s waits", exc, chat_id)
                        await backoff.sleep()
                        continue
                self._release_waiters(key, {row.origin for row in rows})
                if not rows:
                    if key in self._kicked:
                        rows = None
                        continue
                    return
                group = self._next_group(key, rows)
                try:
                    message_id = await self._send(group)
                except Undeliverable as exc:
                    log.warning("sender: %s:%s refused a message for good: %s", platform, chat_id, exc)
                    message_id = None
                except Exception:
                    failures += 1
                    if failures < MAX_FAILURES:
                        log.exception("sender: sending to %s:%s failed; retrying", platform, chat_id)
                        await backoff.sleep()
                        rows = None
                        continue
                    log.error("sender: giving up on a message to %s:%s after %d tries", platform, chat_id,
                              failures)
                    message_id = None
                failures = 0
                backoff.reset()
                self._kicked.discard(key)  # what is committed from now on, the next read sees, or a kick says
                rows = await self._forget(group, message_id)
        finally:
            if self._drains.get(key) is asyncio.current_task():
                del self._drains[key]
                self._kicked.discard(key)
                self._turn.pop(key, None)  # the chat is empty: its turns start afresh

    def _release_waiters(self, key: tuple[str, str], pending: set[str]) -> None:
        waiters = self._waiters.get(key)
        if not waiters:
            return
        keep = []
        for origin, future in waiters:
            if origin in pending:
                keep.append((origin, future))
            elif not future.done():
                future.set_result(None)
        if keep:
            self._waiters[key] = keep
        else:
            del self._waiters[key]

    def _next_group(self, key: tuple[str, str], rows: list[Any]) -> _Group:
        """The next lane after the one served last, its oldest row, and every version of that row's
        keyed message."""
        lanes = list(dict.fromkeys(row.lane for row in rows))
        last = self._turn.get(key)
        lane = lanes[(lanes.index(last) + 1) % len(lanes)] if last in lanes else lanes[0]
        self._turn[key] = lane
        head = next(row for row in rows if row.lane == lane)
        message = codec.decode(head.message)
        message_key = message.key if isinstance(message, Reply | Edit) else None
        if message_key is None:
            return _Group([head], message)
        versions = [row for row in rows if row.message.get("key") == message_key
                    and row.message.get("type") in ("reply", "edit")]
        first, newest = codec.decode(versions[0].message), codec.decode(versions[-1].message)
        assert isinstance(newest, Reply | Edit)
        if isinstance(first, Reply):  # not shown yet: show it once, as it is now
            merged: Outgoing = Reply(newest.text, newest.buttons, message_key, newest.poll)
        else:
            merged = Edit(message_key, newest.text, newest.buttons, poll=newest.poll)
        return _Group(versions, merged)

    async def _send(self, group: _Group) -> str | None:
        head = group.rows[0]
        adapter = self._adapters[head.platform]
        chat = ChatRef(head.platform, head.chat_id, head.thread_id, head.chat_title, head.is_private)
        message = group.message
        token = _delivery.set(f"{head.origin}/{head.position}")
        try:
            if isinstance(message, Edit):
                if not adapter.capabilities.edits:
                    return None
                message_id = await self._message_id(chat, message.key)
                if message_id is None:
                    return None  # its message was never shown (or is gone): nothing to edit
                return await adapter.send(chat, replace(message, message_id=message_id))
            return await adapter.send(chat, message)
        finally:
            _delivery.reset(token)

    async def _forget(self, group: _Group, message_id: str | None) -> list[_Row]:
        """Delete the sent rows (remembering a keyed message's id) and read what the chat has next,
        over one connection; usually one statement on PostgreSQL, without a transaction."""
        head = group.rows[0]
        key = group.message.key if isinstance(group.message, Reply) else None
        platform, chat_id = head.platform, head.chat_id
        retry = Backoff(cap=5.0)
        while True:
            try:
                ids = {"ids": [row.id for row in group.rows]}
                if key is not None and message_id is not None:
                    async with self._sessions.begin() as session:
                        statement = insert(session, SentMessage).values(
                            platform=platform, chat_id=chat_id, key=key, message_id=message_id)
                        await session.execute(statement.on_conflict_do_update(
                            index_elements=[SentMessage.platform, SentMessage.chat_id, SentMessage.key],
                            set_={"message_id": message_id}))
                        await session.execute(_SENT, ids)
                        rows = await _read(session, platform, chat_id)
                else:
                    async with connect(self._autocommit, begin=True) as connection:
                        if len(group.rows) == 1 and connection.dialect.name == "postgresql":
                            rows = [_Row(*row) for row in (await _SENT_AND_NEXT.run(connection, {
                                "sent": head.id, "platform": platform, "chat": chat_id, "window": WINDOW})).rows]
                        else:
                            await connection.execute(_SENT, ids)
                            rows = await _read(connection, platform, chat_id)
                break
            except Exception as exc:  # sent but not forgotten: keep trying, or it would be sent again
                log.warning("sender: could not mark a sent message (%s); retrying", exc)
                await retry.sleep()
        if key is not None and message_id is not None:
            self._cache(platform, chat_id, key, message_id)
        return rows

    def _cache(self, platform: str, chat_id: str, key: str, message_id: str) -> None:
        if len(self._message_ids) >= MESSAGE_ID_CACHE:
            self._message_ids.pop(next(iter(self._message_ids)))
        self._message_ids[(platform, chat_id, key)] = message_id

    async def _message_id(self, chat: ChatRef, key: str) -> str | None:
        cache_key = (chat.platform, chat.chat_id, key)
        if (cached := self._message_ids.get(cache_key)) is not None:
            return cached
        async with self._sessions() as session:
            row = await session.get(SentMessage, cache_key)
        if row is not None:
            self._cache(chat.platform, chat.chat_id, key, row.message_id)
        return None if row is None else row.message_id
