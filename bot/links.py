"""Unguessable links (a calendar feed, say): the token is shown once and only its SHA-256 is stored, so the
store alone cannot be used to open one; a lookup by hash compares no secret byte by byte."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

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


async def change_link(session: AsyncSession, current: Any | None, wish: str, make: Callable[[str], Any]) -> str | None:
    """Carry out a link command's ``wish`` (``link_wish``) on the ``current`` link row: "off" deletes it;
    with a link already there and no wish for a new one, nothing changes (its token was never kept, so it
    cannot be shown again); otherwise the row is replaced by ``make(token_hash)``. Returns the new token, or
    None when no link was made."""
    if wish == "off":
        if current is not None:
            await session.delete(current)
        return None
    if current is not None and wish != "new":
        return None
    if current is not None:
        await session.delete(current)
        await session.flush()  # the new row takes the same key
    token = new_token()
    session.add(make(token_hash(token)))
    return token


__all__ = ["change_link", "link_wish", "new_token", "token_hash"]
