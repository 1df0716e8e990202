"""Real Matrix users for tests, registered through the open registration of the test Synapse."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    JoinResponse,
    RegisterResponse,
    RoomMessageText,
    RoomSendResponse,
    SyncResponse,
    UnknownEvent,
)

PASSWORD = "correct horse battery staple"


@dataclass
class MatrixUser:
    """A registered user with a logged-in nio client that keeps every timeline event it has seen."""

    client: AsyncClient
    localpart: str
    events: list[Any] = field(default_factory=list)
    _next_batch: str | None = None

    @property
    def user_id(self) -> str:
        return str(self.client.user_id)

    async def sync_once(self, timeout_ms: int = 0) -> None:
        response = await self.client.sync(timeout=timeout_ms, since=self._next_batch, full_state=False)
        if not isinstance(response, SyncResponse):
            raise RuntimeError(f"sync failed for {self.user_id}: {response}")
        self._next_batch = response.next_batch
        for room in response.rooms.join.values():
            self.events.extend(room.timeline.events)
        if self.client.olm:
            # Share keys and answer key requests so encrypted rooms work in both directions.
            if self.client.should_upload_keys:
                await self.client.keys_upload()
            if self.client.should_query_keys:
                await self.client.keys_query()
            if self.client.should_claim_keys:
                await self.client.keys_claim(self.client.get_users_for_key_claiming())
            await self.client.send_to_device_messages()

    async def wait_for(
        self, predicate: Callable[[Any], bool], within: float = 15.0, description: str = "event"
    ) -> Any:
        """The first event, seen before or arriving within ``within`` s, that satisfies ``predicate``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        seen = 0
        while True:
            for event in self.events[seen:]:
                if predicate(event):
                    return event
            seen = len(self.events)
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"{self.user_id} saw no {description} within {within} s")
            await self.sync_once(timeout_ms=int(min(remaining, 2.0) * 1000))

    async def wait_for_text(self, needle: str, sender: str | None = None, within: float = 15.0) -> Any:
        return await self.wait_for(
            lambda e: isinstance(e, RoomMessageText) and needle in e.body
            and (sender is None or e.sender == sender),
            within=within, description=f"message containing {needle!r}",
        )

    def texts(self, sender: str | None = None) -> list[str]:
        return [e.body for e in self.events
                if isinstance(e, RoomMessageText) and (sender is None or e.sender == sender)]

    def unknown(self, event_type: str) -> list[UnknownEvent]:
        return [e for e in self.events if isinstance(e, UnknownEvent) and e.type == event_type]

    async def send_text(self, room_id: str, body: str) -> str:
        response = await self.client.room_send(
            room_id, "m.room.message", {"msgtype": "m.text", "body": body},
            ignore_unverified_devices=True,
        )
        if not isinstance(response, RoomSendResponse):
            raise RuntimeError(f"send failed: {response}")
        return response.event_id

    async def send_event(self, room_id: str, event_type: str, content: dict[str, Any]) -> str:
        response = await self.client.room_send(room_id, event_type, content, ignore_unverified_devices=True)
        if not isinstance(response, RoomSendResponse):
            raise RuntimeError(f"send failed: {response}")
        return response.event_id

    async def join(self, room_id: str) -> None:
        response = await self.client.join(room_id)
        if not isinstance(response, JoinResponse):
            raise RuntimeError(f"join failed: {response}")

    async def close(self) -> None:
        await self.client.close()


async def register_user(
    homeserver: str, prefix: str = "user", store_path: Path | None = None
) -> MatrixUser:
    """Register a fresh user (unique localpart) and return it logged in; with ``store_path`` the client
    also gets an end-to-end crypto store, so it can take part in encrypted rooms."""
    localpart = f"{prefix}-{uuid.uuid4().hex[:8]}"
    if store_path is not None:  # nio opens the store as soon as registration answers
        await asyncio.to_thread(store_path.mkdir, parents=True, exist_ok=True)
    config = AsyncClientConfig(encryption_enabled=store_path is not None, store_sync_tokens=False)
    client = AsyncClient(
        homeserver, localpart, store_path=str(store_path) if store_path else "", config=config
    )
    response = await client.register(localpart, PASSWORD, device_name=f"{localpart}-test")
    if not isinstance(response, RegisterResponse):
        await client.close()
        raise RuntimeError(f"registration of {localpart} failed: {response}")
    user = MatrixUser(client=client, localpart=localpart)
    await user.sync_once()
    return user
