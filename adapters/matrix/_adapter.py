"""The Matrix adapter: a matrix-nio client that syncs, feeds updates to the core and renders replies.

Reliability rules it keeps: ``next_batch`` is saved only after its batch was handled (a crash replays the
batch and the core skips what it already processed); sends carry transaction ids derived from the update
being answered, so a retried request never posts twice; rate limits are waited out (nio honours
``retry_after_ms``); the device and its crypto store survive restarts, and the bot never logs out.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    InviteMemberEvent,
    JoinError,
    LoginResponse,
    MegolmEvent,
    ReactionEvent,
    RoomCreateEvent,
    RoomGetStateEventResponse,
    RoomMemberEvent,
    RoomMessagesResponse,
    RoomMessageText,
    RoomSendResponse,
    SyncError,
    SyncResponse,
    UnknownEvent,
    UploadResponse,
    WhoamiResponse,
)
from nio.crypto import ENCRYPTION_ENABLED

from adapters.matrix import _render as render
from bot.adapter import Adapter, Capabilities, CoreAPI, delivery_id
from bot.config import ConfigError, Settings
from bot.events import (
    ButtonPress,
    ChatRef,
    Command,
    Edit,
    Event,
    File,
    NativePollAnswer,
    Notice,
    Outgoing,
    Reply,
    Text,
    Update,
    UserRef,
)
from bot.i18n import _
from bot.roles import Role

log = logging.getLogger(__name__)

PLATFORM = "matrix"
SYNC_TIMEOUT_MS = 30_000
SYNC_FILTER: dict[str, Any] = {
    "presence": {"types": []},
    "room": {"timeline": {"limit": 50}, "ephemeral": {"types": []}},
}
MAX_OPTIONS_REMEMBERED = 500

# The update being handled in this task, and how many sends it has made: the basis of transaction ids.
_answering: ContextVar[tuple[str, list[int]] | None] = ContextVar("matrix_answering", default=None)


@dataclass(frozen=True)
class MatrixConfig:
    homeserver: str
    user: str
    password: str | None = field(repr=False)
    access_token: str | None = field(repr=False)
    allowed_inviters: tuple[str, ...]
    organiser_power_level: int

    @classmethod
    def from_settings(cls, settings: Settings) -> MatrixConfig | None:
        source = settings.source
        homeserver = source.str("matrix_homeserver")
        if not homeserver:
            return None
        if not homeserver.startswith(("http://", "https://")):
            raise ConfigError(f"INTERLINK_MATRIX_HOMESERVER must be an http(s) URL (got {homeserver!r})")
        user = source.str("matrix_user")
        if not user:
            raise ConfigError("INTERLINK_MATRIX_USER is required when INTERLINK_MATRIX_HOMESERVER is set")
        password = source.str("matrix_password")
        token = source.str("matrix_access_token")
        if not password and not token:
            raise ConfigError("INTERLINK_MATRIX_PASSWORD or INTERLINK_MATRIX_ACCESS_TOKEN is required")
        inviters = source.list("matrix_allowed_inviters")
        for entry in inviters:
            if not (entry.startswith(":") or (entry.startswith("@") and ":" in entry)):
                raise ConfigError(
                    "INTERLINK_MATRIX_ALLOWED_INVITERS must list user ids (@name:server) or "
                    f"homeserver suffixes (:server) (got {entry!r})"
                )
        level = source.int("matrix_organiser_power_level", 50, minimum=0, maximum=2**53 - 1)
        return cls(homeserver.rstrip("/"), user, password or None, token or None, inviters, level)


class _Client(AsyncClient):
    """nio hides ``m.relates_to`` inside the ciphertext; servers and clients aggregate edits and poll
    responses on the cleartext copy, so keep one outside too."""

    def encrypt(self, room_id: str, message_type: str, content: dict[Any, Any]) -> tuple[str, dict[str, Any]]:
        event_type, encrypted = super().encrypt(room_id, message_type, content)
        relates = content.get("m.relates_to")
        if relates is not None:
            encrypted["m.relates_to"] = relates
        return event_type, encrypted


class MatrixAdapter(Adapter):
    """Matrix rooms and DMs through one bot account (client-server API, matrix-nio)."""

    platform = PLATFORM
    capabilities = Capabilities(buttons=True, edits=True, native_polls=True, markup=True, max_text=16_000)

    def __init__(self, config: MatrixConfig, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        self._core: CoreAPI | None = None
        self._client: _Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._in_request = False
        self._syncing = False
        self._next_batch: str | None = None
        self._fresh_joins: set[str] = set()
        self._creators: dict[str, str] = {}  # room id -> sender of m.room.create
        self._options: dict[str, tuple[str, ...]] = {}  # event id -> payloads, in option order
        self._room_options: dict[str, str] = {}  # room id -> event id of the latest numbered options
        self._polls: dict[str, str] = {}  # text event id -> MSC3381 poll event id
        self._poll_keys: dict[str, str] = {}  # MSC3381 poll event id -> key of the Reply that carried it
        self._edit_locks: dict[str, asyncio.Lock] = {}
        self._pending_edits: dict[str, Edit] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self.synced = asyncio.Event()

    @classmethod
    def from_settings(cls, settings: Settings) -> MatrixAdapter | None:
        config = MatrixConfig.from_settings(settings)
        return None if config is None else cls(config, settings)

    @property
    def user_id(self) -> str:
        assert self._client is not None
        return str(self._client.user_id)

    # --- lifecycle ---------------------------------------------------------------------------------

    async def start(self, core: CoreAPI) -> None:
        self._core = core
        self._stopping = False
        if not ENCRYPTION_ENABLED:
            log.error(
                "Matrix end-to-end encryption is NOT available (install matrix-nio[e2e]): "
                "the bot can neither read nor write in encrypted rooms"
            )
        store = self.settings.state_dir / "matrix-store"
        await asyncio.to_thread(store.mkdir, parents=True, exist_ok=True)
        client_config = AsyncClientConfig(
            encryption_enabled=ENCRYPTION_ENABLED, store_sync_tokens=False, max_limit_exceeded=None,
            max_timeouts=None, request_timeout=SYNC_TIMEOUT_MS / 1000 + 30,
        )
        self._client = _Client(self.config.homeserver, self.config.user, store_path=str(store),
                               config=client_config)
        await self._log_in()
        self._next_batch = await core.state.get(PLATFORM, "next_batch")
        # One worker syncs at a time (a second would handle every event twice over): a lease.
        self._task = asyncio.create_task(core.hold("matrix:sync", self._sync_while_held), name="matrix-sync")

    async def _sync_while_held(self) -> None:
        self._syncing = True
        try:
            if self._core is not None:  # a previous holder may have moved on
                self._next_batch = await self._core.state.get(PLATFORM, "next_batch")
            await self._sync_loop()
        finally:
            self._syncing = False

    async def _log_in(self) -> None:
        """Reuse the stored device (its crypto store holds our keys); log in only when there is none."""
        assert self._client is not None and self._core is not None
        client, state = self._client, self._core.state
        saved = await state.get(PLATFORM, "session")
        session = json.loads(saved) if saved else None
        if session and (session.get("homeserver"), session.get("user")) != (
            self.config.homeserver, self.config.user
        ):
            log.warning("Matrix account changed in the settings: starting a new device")
            session = None
            await state.delete(PLATFORM, "next_batch")
        if session is None and self.config.access_token:
            client.access_token = self.config.access_token
            whoami = await client.whoami()
            if not isinstance(whoami, WhoamiResponse) or not whoami.device_id:
                raise ConfigError(f"INTERLINK_MATRIX_ACCESS_TOKEN was refused by the homeserver: {whoami}")
            session = {"user_id": whoami.user_id, "device_id": whoami.device_id,
                       "access_token": self.config.access_token}
        if session is not None:
            client.restore_login(session["user_id"], session["device_id"], session["access_token"])
            whoami = await client.whoami()
            if isinstance(whoami, WhoamiResponse):
                return
            if not self.config.password:
                raise ConfigError(f"the stored Matrix access token was refused ({whoami}); set a password")
            log.warning("stored Matrix access token refused (%s); logging in again, same device", whoami)
        response = await client.login(self.config.password, device_name="Interlink bot")
        if not isinstance(response, LoginResponse):
            raise ConfigError(f"Matrix login as {self.config.user} failed: {response}")
        await state.set(PLATFORM, "session", json.dumps({
            "homeserver": self.config.homeserver, "user": self.config.user, "user_id": response.user_id,
            "device_id": response.device_id, "access_token": response.access_token,
        }))
        log.info("Matrix: logged in as %s, device %s", response.user_id, response.device_id)

    async def stop(self) -> None:
        """Finish the batch being handled (never cut an update in half), flush sends; no logout."""
        self._stopping = True
        if self._task is not None:
            if self._in_request or not self._syncing:
                self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                try:
                    await asyncio.wait_for(asyncio.shield(self._task), 30)
                except TimeoutError:
                    self._task.cancel()
                    await self._task
            self._task = None
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        if self._client is not None:
            await self._client.close()
            self._client = None

    # --- receiving ---------------------------------------------------------------------------------

    async def _sync_loop(self) -> None:
        assert self._client is not None and self._core is not None
        client, first, backoff = self._client, True, 1.0
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
                log.exception("Matrix sync failed; retrying in %.0f s", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 60)
                continue
            finally:
                self._in_request = False
            if isinstance(response, SyncError):
                log.error("Matrix sync refused: %s; retrying in %.0f s", response, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 60)
                continue
            backoff = 1.0
            await self._crypto_housekeeping()
            try:
                await self._handle_sync(response, history=self._next_batch is None)
            except Exception:
                # Not saving next_batch: the same batch comes again; the core skips what it already handled.
                log.exception("Matrix: a batch failed; retrying it in %.0f s", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 60)
                continue
            self._next_batch = response.next_batch
            await self._core.state.set(PLATFORM, "next_batch", response.next_batch)
            first = False
            self.synced.set()

    async def _crypto_housekeeping(self) -> None:
        client = self._client
        if client is None or not client.olm:
            return
        try:
            if client.should_upload_keys:
                await client.keys_upload()
            if client.should_query_keys:
                await client.keys_query()
            if client.should_claim_keys:
                await client.keys_claim(client.get_users_for_key_claiming())
            await client.send_to_device_messages()
        except Exception:
            log.exception("Matrix key exchange failed; will retry after the next sync")

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
                events = self._after_own_join(events)
                if events is None:
                    continue
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
        token = _answering.set((event.event_id, [0]))
        try:
            await self._core.handle(update)
        finally:
            _answering.reset(token)

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

    async def platform_role(self, chat: ChatRef, user: UserRef) -> Role | None:
        """Room power level ≥ the configured one (default 50, "moderator") makes an organiser."""
        if self._client is None:
            return None
        room = self._client.rooms.get(chat.chat_id)
        if room is not None:
            level = room.power_levels.get_user_level(user.user_id)
            if user.user_id == self._creators.get(chat.chat_id) and user.user_id not in room.power_levels.users:
                return Role.ORGANISER  # room v12+: creators rank above every power level and are not listed
        else:
            response = await self._client.room_get_state_event(chat.chat_id, "m.room.power_levels")
            if not isinstance(response, RoomGetStateEventResponse):
                return None
            users = response.content.get("users", {})
            level = int(users.get(user.user_id, response.content.get("users_default", 0)))
        return Role.ORGANISER if level >= self.config.organiser_power_level else None

    # --- sending -----------------------------------------------------------------------------------

    async def send(self, chat: ChatRef, message: Outgoing) -> str | None:
        if isinstance(message, Reply):
            return await self._send_reply(chat.chat_id, message)
        if isinstance(message, Edit):
            return await self._send_edit(chat.chat_id, message)
        if isinstance(message, Notice):
            content = render.message_content(message.text)
            content["msgtype"] = "m.notice"  # bots' own convention: clients show it quieter, bots ignore it
            return await self._room_send(chat.chat_id, "m.room.message", content, self._txn_id())
        if isinstance(message, File):
            return await self._send_file(chat.chat_id, message)
        raise TypeError(f"Matrix cannot show {type(message).__name__}")

    def _txn_id(self) -> str:
        """Same update, same position among its sends → same id, so a retry is recognised by Synapse."""
        stable = delivery_id()
        if stable is not None:
            return "il" + hashlib.sha256(stable.encode()).hexdigest()[:32]
        answering = _answering.get()
        if answering is None:
            return uuid.uuid4().hex
        event_id, counter = answering
        counter[0] += 1
        return "il" + hashlib.sha256(f"{event_id}/{counter[0]}".encode()).hexdigest()[:32]

    async def _room_send(self, room_id: str, event_type: str, content: dict[str, Any], txn_id: str) -> str:
        assert self._client is not None
        if self._client.olm and room_id not in self._client.rooms:
            # Just joined: nio must see the room (is it encrypted? who is in it?) before it can send there.
            for _attempt in range(100):
                await asyncio.sleep(0.1)
                if self._client is None or room_id in self._client.rooms:
                    break
            assert self._client is not None
        response = await self._client.room_send(room_id, event_type, content, tx_id=txn_id,
                                                ignore_unverified_devices=True)
        if not isinstance(response, RoomSendResponse):
            raise RuntimeError(f"Matrix refused a {event_type} in {room_id}: {response}")
        return str(response.event_id)

    @staticmethod
    def _fits(content_for: Any) -> Any:
        return lambda text: render.content_size(content_for(text)) <= render.CONTENT_BUDGET

    async def _send_reply(self, room_id: str, reply: Reply) -> str:
        txn = self._txn_id()
        hint = _("Answer with the number, or react with it.") if reply.buttons else ""
        fits = self._fits(render.message_content)
        fits_with_options = self._fits(lambda t: render.message_content(t, reply.buttons, hint))
        # Too large for one event: split, so every word is still delivered, over several messages.
        chunks = render.split_text(reply.text, fits)
        if not fits_with_options(chunks[-1]):
            chunks.append("")
        contents = [render.message_content(chunk) for chunk in chunks[:-1]]
        contents.append(render.message_content(chunks[-1], reply.buttons, hint))
        event_id = ""
        for index, content in enumerate(contents):
            event_id = await self._room_send(room_id, "m.room.message", content, f"{txn}.{index}")
        if reply.buttons:
            await self._remember_options(room_id, event_id, tuple(b.payload for b in reply.buttons))
        if reply.poll is not None and not reply.poll.closed and reply.poll.options:
            poll_id = await self._room_send(room_id, render.POLL_START,
                                            render.poll_start_content(reply.poll), f"{txn}.poll")
            self._polls[event_id] = poll_id
            assert self._core is not None
            await self._core.state.set(PLATFORM, f"poll:{event_id}", poll_id)
            if reply.key:
                self._poll_keys[poll_id] = reply.key
                await self._core.state.set(PLATFORM, f"pollkey:{poll_id}", reply.key)
        return event_id

    async def _remember_options(self, room_id: str, event_id: str, payloads: tuple[str, ...]) -> None:
        self._options[event_id] = payloads
        if len(self._options) > MAX_OPTIONS_REMEMBERED:
            self._options.pop(next(iter(self._options)))
        assert self._core is not None
        await self._core.state.set(PLATFORM, f"options:{event_id}", json.dumps(payloads))
        if self._room_options.get(room_id) != event_id:
            self._room_options[room_id] = event_id
            await self._core.state.set(PLATFORM, f"latest-options:{room_id}", event_id)

    async def _latest_options(self, room_id: str) -> str | None:
        """The message a bare number answers: kept in the store too, so "2" still votes after a restart."""
        if (event_id := self._room_options.get(room_id)) is None and self._core is not None:
            event_id = await self._core.state.get(PLATFORM, f"latest-options:{room_id}")
            if event_id is not None:
                self._room_options[room_id] = event_id
        return event_id

    async def _send_edit(self, room_id: str, edit: Edit) -> str | None:
        """Edits of one message are coalesced: while one is in flight, later ones replace each other and
        only the newest is sent (a tally that moved three times is edited once more, not three times)."""
        target = edit.message_id
        if target is None:
            return None
        txn = self._txn_id()
        self._pending_edits[target] = edit
        lock = self._edit_locks.setdefault(target, asyncio.Lock())
        async with lock:
            if self._pending_edits.get(target) is not edit:
                return target  # a newer edit superseded this one
            del self._pending_edits[target]
            hint = _("Answer with the number, or react with it.") if edit.buttons else ""

            def content_for(text: str) -> dict[str, Any]:
                return render.edit_content(target, render.message_content(text, edit.buttons, hint))

            text = render.shorten(edit.text, self._fits(content_for))
            await self._room_send(room_id, "m.room.message", content_for(text), f"{txn}.edit")
            if edit.buttons:
                await self._remember_options(room_id, target, tuple(b.payload for b in edit.buttons))
            else:
                self._options.pop(target, None)
            if edit.poll is not None and edit.poll.closed:
                await self._end_poll(room_id, target, edit.text, txn)
        if not self._pending_edits.keys() & {target} and not lock.locked():
            self._edit_locks.pop(target, None)
        return target

    async def _end_poll(self, room_id: str, text_event_id: str, text: str, txn: str) -> None:
        assert self._core is not None
        poll_id = self._polls.pop(text_event_id, None) or await self._core.state.get(
            PLATFORM, f"poll:{text_event_id}"
        )
        if not poll_id:
            return
        end_text = render.shorten(text, self._fits(lambda t: render.poll_end_content(poll_id, t)))
        content = render.poll_end_content(poll_id, end_text)
        await self._room_send(room_id, render.POLL_END, content, f"{txn}.end")
        await self._core.state.delete(PLATFORM, f"poll:{text_event_id}")

    async def _send_file(self, room_id: str, file: File) -> str:
        assert self._client is not None
        room = self._client.rooms.get(room_id)
        encrypt = bool(room is not None and room.encrypted and self._client.olm)
        content_bytes = file.content
        upload, keys = await self._client.upload(
            lambda *_args: content_bytes, content_type=file.mime_type, filename=file.filename,
            encrypt=encrypt, filesize=len(content_bytes),
        )
        if not isinstance(upload, UploadResponse):
            raise RuntimeError(f"Matrix refused the upload of {file.filename}: {upload}")
        content: dict[str, Any] = {
            "msgtype": "m.file", "body": file.caption or file.filename, "filename": file.filename,
            "info": {"mimetype": file.mime_type, "size": len(content_bytes)},
        }
        if encrypt and keys is not None:
            content["file"] = {"url": upload.content_uri, **keys}
        else:
            content["url"] = upload.content_uri
        return await self._room_send(room_id, "m.room.message", content, self._txn_id())
