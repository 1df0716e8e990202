"""Signed button payloads: short, versioned, and never trusted.

Format: ``1.<interlinker>.<kind>.<arg>...~<mac>`` where ``mac`` is 10 url-safe characters of an
HMAC-SHA256 over the rest. Telegram's callback_data holds 64 bytes, so payloads are checked at signing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

VERSION = "1"
MAX_BYTES = 64
_MAC_CHARS = 10


class PayloadError(ValueError):
    """Forged, damaged or outdated payload."""


@dataclass(frozen=True, slots=True)
class Payload:
    interlinker: str
    kind: str
    args: tuple[str, ...]


class Signer:
    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(("buttons:" + secret).encode()).digest()

    def _mac(self, body: str) -> str:
        digest = hmac.new(self._key, body.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode()[:_MAC_CHARS]

    def sign(self, interlinker: str, kind: str, *args: object) -> str:
        parts = [VERSION, interlinker, kind, *(str(a) for a in args)]
        if any(("." in p or "~" in p) for p in parts[1:]):
            raise ValueError("payload parts may not contain '.' or '~'")
        body = ".".join(parts)
        payload = f"{body}~{self._mac(body)}"
        if len(payload.encode()) > MAX_BYTES:
            raise ValueError(f"payload over {MAX_BYTES} bytes: {payload!r}")
        return payload

    def verify(self, payload: str) -> Payload:
        body, sep, mac = payload.rpartition("~")
        if not sep or len(payload.encode()) > MAX_BYTES:
            raise PayloadError(payload)
        if not hmac.compare_digest(mac.encode(), self._mac(body).encode()):
            raise PayloadError(payload)
        parts = body.split(".")
        if len(parts) < 3 or parts[0] != VERSION:
            raise PayloadError(payload)
        return Payload(parts[1], parts[2], tuple(parts[3:]))
