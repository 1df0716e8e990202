"""The Matrix adapter: a matrix-nio client that syncs (``_receiving.py``), feeds updates to the core and
renders what the core's sender hands it (``_sending.py``). This module holds the lifecycle, the device
(reused across restarts, its crypto store kept; the bot never logs out) and the roles rooms grant.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from nio import AsyncClientConfig, LoginResponse, RoomGetStateEventResponse, WhoamiResponse
from nio.crypto import ENCRYPTION_ENABLED

from adapters.matrix._client import PLATFORM, SYNC_TIMEOUT_MS, Client
from adapters.matrix._config import MatrixConfig
from adapters.matrix._receiving import Receiving
from adapters.matrix._sending import Sending
from bot.adapter import Adapter, Capabilities, CoreAPI
from bot.config import ConfigError, Settings
from bot.events import ChatRef, UserRef
from bot.roles import Role

log = logging.getLogger(__name__)


class MatrixAdapter(Receiving, Sending, Adapter):
    """Matrix rooms and DMs through one bot account (client-server API, matrix-nio)."""

    platform = PLATFORM
    capabilities = Capabilities(buttons=True, edits=True, native_polls=True, markup=True, max_text=16_000)

    def __init__(self, config: MatrixConfig, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        self._core: CoreAPI | None = None
        self._client: Client | None = None
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
        self._background: set[asyncio.Task[Any]] = set()
        self._direct_rooms: dict[str, str] = {}  # user id -> the direct room the bot made with them
        self.synced = asyncio.Event()

    @classmethod
    def from_settings(cls, settings: Settings) -> MatrixAdapter | None:
        config = MatrixConfig.from_settings(settings)
        return None if config is None else cls(config, settings)

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
        self._client = Client(self.config.homeserver, self.config.user, store_path=str(store),
                               config=client_config)
        await self._log_in()
        self._next_batch = await core.state.get(PLATFORM, "next_batch")
        # One worker syncs at a time (a second would handle every event twice over): a lease.
        self._task = asyncio.create_task(core.hold("matrix:sync", self._sync_while_held), name="matrix-sync")

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

    async def stop_receiving(self) -> None:
        """Finish the batch being handled (never cut an update in half); sending goes on until ``stop``."""
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

    async def stop(self) -> None:
        """Close the client once the core sent what was pending; never log out (it would delete the
        device and its keys)."""
        if not self._stopping:
            await self.stop_receiving()
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        if self._client is not None:
            await self._client.close()
            self._client = None

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

    # --- roles -------------------------------------------------------------------------------------

    def members(self, chat: ChatRef) -> list[UserRef] | None:
        """The room's joined members as the sync reported them (no request), the bot left out."""
        room = self._client.rooms.get(chat.chat_id) if self._client is not None else None
        if room is None:
            return None
        return [UserRef(PLATFORM, user_id, room.user_name(user_id) or user_id)
                for user_id in sorted(room.users) if user_id != self.user_id]

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
