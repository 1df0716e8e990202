"""Unguessable links (a calendar feed, say): the token is shown once and only its SHA-256 is stored, so the
store alone cannot be used to open one; a lookup by hash compares no secret byte by byte."""

from __future__ import annotations

import hashlib
import secrets


def new_token() -> str:
    """192 random bits, URL-safe."""
    return secrets.token_urlsafe(24)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


__all__ = ["new_token", "token_hash"]
