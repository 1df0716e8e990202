"""Receiving from Matrix: one sync loop (under a lease, so one worker syncs), invites, and turning room
events into the core's ``Update``s. ``next_batch`` is saved only after its batch was handled: a crash
replays the batch and the core skips what it already processed."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

from nio import (
    InviteMemberEvent,
    JoinError,
    MegolmEvent,
    MemoryDownloadResponse,
    ReactionEvent,
    RoomCreateEvent,
    RoomEncryptedImage,
    RoomMemberEvent,
    RoomMessageImage,
    RoomMessagesResponse,
    RoomMessageText,
    RoomMessageUnknown,
    SyncError,
    SyncResponse,
    UnknownEvent,
)
from nio.crypto.attachments import decrypt_attachment
from nio.exceptions import EncryptionError

from adapters.matrix import _render as render
from adapters.matrix._client import PLATFORM, SYNC_FILTER, SYNC_TIMEOUT_MS
from adapters.matrix._sending import answering
from adapters.matrix._state import MatrixState
from bot.backoff import Backoff
from bot.events import ButtonPress, ChatRef, Command, Event, NativePollAnswer, Photo, Text, Update, UserRef
from bot.photos import too_big

log = logging.getLogger(__name__)


class Receiving(MatrixState):
    """The receiving half of ``MatrixAdapter``."""

    if TYPE_CHECKING:  # provided by the other halves (a stub at run time would shadow them in the MRO)
        async def _crypto_housekeeping(self) -> None: ...
        async def _latest_options(self, room_id: str) -> str | None: ...

    async def _sync_while_held(self) -> None:
        self._syncing = True
        try:
            if self._core is not None:  # a previous holder may have moved on
                self._next_batch = await self._core.state.get(PLATFORM, "next_batch")
            await self._sync_loop()
        finally:
            self._syncing = False

    async def _sync_loop(self) -> None:
        assert self._client is not None and self._core is not None
        client, first, backoff = self._client, True, Backoff(first=1.0, cap=60.0)
        while not self._stopping:
            self._in_request = True
            try:
                response = await client.sync(
                    timeout=0 if first else SYNC_TIMEOUT_MS, since=self._next_batch, sync_filter=SYNC_FILTER,
                    # The first sync of a process asks for all state so room members and power levels
                    # (and who to encrypt for) are known, even when resuming from a saved token.
                    full_state=first,
                )
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("Matrix sync failed; retrying")
                await backoff.sleep()
                continue
            finally:
                self._in_request = False
            if isinstance(response, SyncError):
                log.error("Matrix sync refused: %s; retrying", response)
                await backoff.sleep()
                continue
            backoff.reset()
            await self._crypto_housekeeping()
            try:
                await self._handle_sync(response, history=self._next_batch is None)
            except Exception:
                # Not saving next_batch: the same batch comes again; the core skips what it already handled.
                log.exception("Matrix: a batch failed; retrying it")
                await backoff.sleep()
                continue
            self._next_batch = response.next_batch
            await self._core.state.set(PLATFORM, "next_batch", response.next_batch)
            first = False
            self.synced.set()

    async def _handle_sync(self, response: SyncResponse, history: bool) -> None:
        """``history``: the very first sync of this account; what it shows happened before the bot was
        here, so it is not treated as commands."""
        for room_id, info in response.rooms.invite.items():
            await self._on_invite(room_id, info.invite_state)
        for room_id, info in response.rooms.join.items():
            for state_event in [*info.state, *info.timeline.events]:
                if isinstance(state_event, RoomCreateEvent):
                    self._creators[room_id] = state_event.sender
            events = list(info.timeline.events)
            if history:
                self._fresh_joins.discard(room_id)
                continue
            if room_id in self._fresh_joins:
                after_join = self._after_own_join(events)
                if after_join is None:
                    continue
                events = after_join
                self._fresh_joins.discard(room_id)
            elif info.timeline.limited and info.timeline.prev_batch and self._next_batch:
                events = await self._fill_gap(room_id, info.timeline.prev_batch) + events
            for event in events:
                try:
                    await self._on_event(room_id, event)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    # The core is down (or broken): do not save next_batch, so the batch is replayed.
                    log.exception("Matrix: could not handle %s in %s", getattr(event, "event_id", "?"),
                                  room_id)
                    raise

    def _after_own_join(self, events: list[Any]) -> list[Any] | None:
        for index in range(len(events) - 1, -1, -1):
            event = events[index]
            if (isinstance(event, RoomMemberEvent) and event.state_key == self.user_id
                    and event.membership == "join" and event.prev_membership != "join"):
                return events[index + 1:]
        return None

    async def _fill_gap(self, room_id: str, prev_batch: str) -> list[Any]:
        """A limited timeline skipped events since our last token: fetch them, so none is lost."""
        assert self._client is not None
        older: list[Any] = []
        start = prev_batch
        for _page in range(20):
            page = await self._client.room_messages(room_id, start=start, end=self._next_batch, limit=100)
            if not isinstance(page, RoomMessagesResponse) or not page.chunk:
                break
            older.extend(page.chunk)
            if not page.end or page.end == start:
                break
            start = page.end
        older.reverse()
        return [self._client.decrypt_event(e) if isinstance(e, MegolmEvent) and self._client.olm else e
                for e in older]

    async def _on_invite(self, room_id: str, invite_state: list[Any]) -> None:
        assert self._client is not None
        inviter = next((e.sender for e in invite_state if isinstance(e, InviteMemberEvent)
                        and e.state_key == self.user_id and e.membership == "invite"), None)
        if inviter is None or not self._inviter_allowed(inviter):
            log.warning("Matrix: declining invite to %s from %s (not in INTERLINK_MATRIX_ALLOWED_INVITERS)",
                        room_id, inviter)
            await self._client.room_leave(room_id)
            return
        response = await self._client.join(room_id)
        if isinstance(response, JoinError):
            log.error("Matrix: could not join %s: %s", room_id, response)
            return
        self._fresh_joins.add(room_id)
        log.info("Matrix: joined %s, invited by %s", room_id, inviter)

    def _inviter_allowed(self, inviter: str) -> bool:
        allowed = self.config.allowed_inviters or (":" + self.user_id.split(":", 1)[1],)
        return any(inviter == entry or (entry.startswith(":") and inviter.endswith(entry))
                   for entry in allowed)

    async def _on_event(self, room_id: str, event: Any) -> None:
        if getattr(event, "sender", None) == self.user_id:
            return
        if isinstance(event, MegolmEvent):
            log.warning("Matrix: cannot decrypt %s in %s (no session key yet, or e2e support missing)",
                        event.event_id, room_id)
            return
        incoming = await self._incoming(room_id, event)
        if incoming is None:
            return
        assert self._core is not None
        update = Update(event.event_id, self._chat(room_id), self._user(room_id, event.sender), incoming)
        token = answering.set((event.event_id, [0]))
        try:
            await self._core.handle(update)
        finally:
            answering.reset(token)

    async def _incoming(self, room_id: str, event: Any) -> Event | None:
        if isinstance(event, RoomMessageText):
            content = event.source.get("content", {})
            relates = content.get("m.relates_to") or {}
            if relates.get("rel_type") == "m.replace" or content.get("msgtype") == "m.notice":
                return None
            body = render.strip_reply_fallback(event.body)
            command = render.parse_command(body)
            if command is not None:
                return Command(*command)
            if body.strip().isdigit():
                replied = (relates.get("m.in_reply_to") or {}).get("event_id")
                target = replied or await self._latest_options(room_id)
                payload = await self._option(target, int(body.strip()))
                if payload is not None:
                    return ButtonPress(payload)
            return Text(body)
        if isinstance(event, RoomMessageImage | RoomEncryptedImage):
            return await self._picture(event)
        if isinstance(event, RoomMessageUnknown) and event.msgtype == "m.location":
            return render.read_location(event.source.get("content", {}))
        if isinstance(event, ReactionEvent):
            number = render.keycap_number(event.key)
            payload = await self._option(event.reacts_to, number) if number else None
            return None if payload is None else ButtonPress(payload)
        if isinstance(event, UnknownEvent) and event.type in render.POLL_RESPONSE_TYPES:
            poll_id, answers = render.poll_response(event.source.get("content", {}))
            key = self._poll_keys.get(poll_id or "")
            if key is None and poll_id and self._core is not None:
                key = await self._core.state.get(PLATFORM, f"pollkey:{poll_id}")
            return NativePollAnswer(answers, key=key)
        return None

    async def _picture(self, event: RoomMessageImage | RoomEncryptedImage) -> Photo:
        """An ``m.image``, downloaded from the media repository (and decrypted in an encrypted room), unless
        it is larger than the core accepts or cannot be fetched (the core then says so)."""
        assert self._client is not None
        info = event.source.get("content", {}).get("info") or {}
        size = info.get("size") if isinstance(info.get("size"), int) else None
        mime = str(getattr(event, "mimetype", None) or info.get("mimetype") or "image/jpeg")
        caption = ""  # Matrix images carry a file name as their body, not a caption
        if too_big(size):
            return Photo(b"", mime, caption, size)
        response = await self._client.download(mxc=event.url)
        if not isinstance(response, MemoryDownloadResponse):
            log.warning("Matrix: could not download %s: %s", event.url, response)
            return Photo(b"", mime, caption)
        content = response.body
        if isinstance(event, RoomEncryptedImage):
            try:
                content = decrypt_attachment(content, event.key["k"], event.hashes["sha256"], event.iv)
            except (KeyError, TypeError, ValueError, EncryptionError) as exc:  # tampered or truncated: asked again
                log.warning("Matrix: could not decrypt %s: %s", event.url, exc)
                return Photo(b"", mime, caption)
        return Photo(content, mime, caption, len(content))

    async def _option(self, event_id: str | None, number: int) -> str | None:
        if not event_id:
            return None
        payloads = self._options.get(event_id)
        if payloads is None and self._core is not None:
            saved = await self._core.state.get(PLATFORM, f"options:{event_id}")
            payloads = tuple(json.loads(saved)) if saved else None
        if not payloads or not 1 <= number <= len(payloads):
            return None
        return payloads[number - 1]

    def _chat(self, room_id: str) -> ChatRef:
        assert self._client is not None
        room = self._client.rooms.get(room_id)
        if room is None:
            return ChatRef(PLATFORM, room_id)
        return ChatRef(PLATFORM, room_id, title=room.display_name, is_private=room.member_count <= 2)

    def _user(self, room_id: str, user_id: str) -> UserRef:
        assert self._client is not None
        room = self._client.rooms.get(room_id)
        name = (room.user_name(user_id) if room is not None else None) or user_id
        return UserRef(PLATFORM, user_id, name, language=None)  # Matrix does not tell a user's language
