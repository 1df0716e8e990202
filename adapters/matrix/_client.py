"""The nio client and the constants of our use of it."""

from __future__ import annotations

from typing import Any

from nio import AsyncClient

PLATFORM = "matrix"
SYNC_TIMEOUT_MS = 30_000
SYNC_FILTER: dict[str, Any] = {
    "presence": {"types": []},
    "room": {"timeline": {"limit": 50}, "ephemeral": {"types": []}},
}


class Client(AsyncClient):
    """nio hides ``m.relates_to`` inside the ciphertext; servers and clients aggregate edits and poll
    responses on the cleartext copy, so keep one outside too."""

    def encrypt(self, room_id: str, message_type: str, content: dict[Any, Any]) -> tuple[str, dict[str, Any]]:
        event_type, encrypted = super().encrypt(room_id, message_type, content)
        relates = content.get("m.relates_to")
        if relates is not None:
            encrypted["m.relates_to"] = relates
        return event_type, encrypted
