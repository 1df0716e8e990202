"""Unguessable links (a calendar feed, say): the token is shown once and only its SHA-256 is stored, so the
store alone cannot be used to open one; a lookup by hash compares no secret byte by byte."""

from __future__ import annotations

import hashlib
import secrets

# What people add to a link command: "off" stops the link, "new" replaces it (in any of our languages).
_OFF = {"off", "revoke", "no", "stop", "basta", "no más", "izslēgt"}
_NEW = {"new", "renew", "reset", "nuovo", "nuevo", "jauns"}


def link_wish(typed: str) -> str:
    """``"off"``, ``"new"``, or ``""`` (show or create the link) for what followed a link command."""
    word = typed.strip().casefold()
    return "off" if word in _OFF else "new" if word in _NEW else ""


def new_token() -> str:
    """192 random bits, URL-safe."""
    return secrets.token_urlsafe(24)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


__all__ = ["link_wish", "new_token", "token_hash"]
