"""PA officers: accounts without passwords, their initiatives, log-in links, dashboard sessions, API keys.

An officer logs in with a link: ``/dashboard`` in a private chat (once their chat account is linked) or
``interlink officers login``. The link is signed with the instance's secret, lasts 15 minutes and works
once (its nonce is recorded when used); it opens a page with a button, so a chat app that fetches the link
for a preview does not use it up. A session is a random token in an HttpOnly cookie, kept as a hash. API
keys are shown once and kept as SHA-256 hashes, found by a public prefix and compared in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.links import token_hash
from storage.models import (
    ChatLink,
    DirectChat,
    Initiative,
    Officer,
    OfficerApiKey,
    OfficerCode,
    OfficerIdentity,
    OfficerInitiative,
    OfficerSession,
    UsedLogin,
)
from storage.sql import affected, insert

LOGIN_LIFETIME = timedelta(minutes=15)
FIRST_LOGIN_LIFETIME = timedelta(hours=24)  # printed by the CLI for a new officer, sent by whoever set it up
SESSION_LIFETIME = timedelta(hours=12)
CODE_LIFETIME = timedelta(minutes=15)
SCOPES = ("read", "write")
KEY_PREFIX = "ilk_"


def _key(secret: str, purpose: str) -> bytes:
    return hashlib.sha256(f"{purpose}:{secret}".encode()).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _mac(secret: str, body: str) -> str:
    return _b64(hmac.new(_key(secret, "login"), body.encode(), hashlib.sha256).digest()[:18])


def login_token(secret: str, officer_id: int, lifetime: timedelta = LOGIN_LIFETIME) -> str:
    """``<officer>.<expiry>.<nonce>.<mac>``: everything the server needs is in the token and signed."""
    expires = int((datetime.now(UTC) + lifetime).timestamp())
    body = f"{officer_id}.{expires}.{secrets.token_urlsafe(12)}"
    return f"{body}.{_mac(secret, body)}"


def login_url(public_url: str, token: str) -> str:
    return f"{public_url}/dashboard/login?t={token}"


@dataclass(frozen=True, slots=True)
class LoginToken:
    officer_id: int
    expires_at: datetime
    nonce: str


def read_login(secret: str, token: str) -> LoginToken | None:
    """The token's content if its signature holds and it has not expired (not whether it was used)."""
    body, _sep, mac = token.strip().rpartition(".")
    parts = body.split(".")
    if len(parts) != 3 or not hmac.compare_digest(mac.encode(), _mac(secret, body).encode()):
        return None
    try:
        officer_id, expires = int(parts[0]), datetime.fromtimestamp(int(parts[1]), UTC)
    except ValueError:
        return None
    if expires < datetime.now(UTC):
        return None
    return LoginToken(officer_id, expires, parts[2])


async def use_login(session: AsyncSession, secret: str, token: str) -> Officer | None:
    """The officer a valid, unused link names, marking it used in ``session``'s transaction."""
    found = read_login(secret, token)
    if found is None:
        return None
    await session.execute(delete(UsedLogin).where(UsedLogin.expires_at < datetime.now(UTC)))
    used = await session.execute(insert(session, UsedLogin).values(
        nonce_hash=token_hash(found.nonce), expires_at=found.expires_at).on_conflict_do_nothing())
    if not affected(used):
        return None
    return await session.get(Officer, found.officer_id)


async def open_session(session: AsyncSession, officer_id: int) -> str:
    token = secrets.token_urlsafe(32)
    await session.execute(delete(OfficerSession).where(OfficerSession.expires_at < datetime.now(UTC)))
    session.add(OfficerSession(token_hash=token_hash(token), officer_id=officer_id,
                               expires_at=datetime.now(UTC) + SESSION_LIFETIME))
    return token


async def session_officer(session: AsyncSession, token: str) -> Officer | None:
    row = await session.get(OfficerSession, token_hash(token))
    if row is None or row.expires_at < datetime.now(UTC):
        return None
    return await session.get(Officer, row.officer_id)


async def close_session(session: AsyncSession, token: str) -> None:
    await session.execute(delete(OfficerSession).where(OfficerSession.token_hash == token_hash(token)))


def csrf_token(secret: str, session_token: str) -> str:
    """The hidden field every dashboard form carries: tied to the session, so another site cannot post."""
    return _b64(hmac.new(_key(secret, "csrf"), session_token.encode(), hashlib.sha256).digest()[:18])


def csrf_ok(secret: str, session_token: str, given: str) -> bool:
    return hmac.compare_digest(csrf_token(secret, session_token).encode(), given.encode())


# --- officers and their initiatives ---------------------------------------------------------------


async def add_officer(session: AsyncSession, name: str, email: str | None, locale: str, timezone: str,
                      initiative_ids: list[int], sees_all: bool = False) -> Officer:
    officer = Officer(name=name[:200], email=email, locale=locale, timezone=timezone, created_at=datetime.now(UTC),
                      sees_all=sees_all)
    session.add(officer)
    await session.flush()
    for initiative_id in initiative_ids:
        await grant(session, officer.id, initiative_id)
    return officer


async def grant(session: AsyncSession, officer_id: int, initiative_id: int) -> None:
    await session.execute(insert(session, OfficerInitiative).values(
        officer_id=officer_id, initiative_id=initiative_id).on_conflict_do_nothing())


async def initiatives_of(session: AsyncSession, officer_id: int) -> list[Initiative]:
    """The initiatives an officer sees (every one with chats beyond private ones, for ``sees_all``)."""
    officer = await session.get(Officer, officer_id)
    if officer is None:
        return []
    query = select(Initiative).order_by(Initiative.name, Initiative.id)
    if officer.sees_all:
        query = query.where(Initiative.id.in_(select(ChatLink.initiative_id).where(
            ChatLink.chat_id.not_in(select(DirectChat.chat_id)))))
    else:
        query = query.join(OfficerInitiative, OfficerInitiative.initiative_id == Initiative.id).where(
            OfficerInitiative.officer_id == officer_id)
    return list(await session.scalars(query))


async def readable_initiative(session: AsyncSession, officer: Officer, initiative_id: int) -> Initiative | None:
    """The initiative, if this officer may read it."""
    if not officer.sees_all and await session.get(OfficerInitiative, (officer.id, initiative_id)) is None:
        return None
    return await session.get(Initiative, initiative_id)


async def officer_of_user(session: AsyncSession, user_id: int) -> Officer | None:
    return await session.scalar(select(Officer).join(OfficerIdentity, OfficerIdentity.officer_id == Officer.id)
                                .where(OfficerIdentity.user_id == user_id))


async def identity_code(session: AsyncSession, officer_id: int) -> str:
    """A one-time code the officer sends as ``/dashboard CODE`` to link that chat account to them."""
    code = f"{secrets.randbelow(10**8):08d}"
    await session.execute(delete(OfficerCode).where(OfficerCode.expires_at < datetime.now(UTC)))
    session.add(OfficerCode(code_hash=token_hash(code), officer_id=officer_id,
                            expires_at=datetime.now(UTC) + CODE_LIFETIME))
    return f"{code[:4]} {code[4:]}"


async def link_identity(session: AsyncSession, typed: str, user_id: int) -> Officer | None:
    code = "".join(ch for ch in typed if ch.isdigit())
    found = await session.get(OfficerCode, token_hash(code)) if len(code) == 8 else None
    if found is None or found.expires_at < datetime.now(UTC):
        return None
    await session.delete(found)
    await session.execute(insert(session, OfficerIdentity).values(user_id=user_id, officer_id=found.officer_id)
                          .on_conflict_do_update(index_elements=[OfficerIdentity.user_id],
                                                 set_={"officer_id": found.officer_id}))
    return await session.get(Officer, found.officer_id)


# --- API keys ---------------------------------------------------------------------------------------


async def new_api_key(session: AsyncSession, officer_id: int, scope: str, label: str = "") -> str:
    """A new key, returned once: ``ilk_<prefix>_<secret>``."""
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
    prefix, secret_part = secrets.token_hex(6), secrets.token_urlsafe(24)
    key = f"{KEY_PREFIX}{prefix}_{secret_part}"
    session.add(OfficerApiKey(officer_id=officer_id, prefix=prefix, key_hash=token_hash(key), scope=scope,
                              label=label[:100], created_at=datetime.now(UTC)))
    await session.flush()
    return key


async def check_api_key(session: AsyncSession, key: str) -> tuple[OfficerApiKey, Officer] | None:
    """The live key and its officer, or None; marks it used (to the minute, to spare writes)."""
    if not key.startswith(KEY_PREFIX):
        return None
    prefix = key[len(KEY_PREFIX):].partition("_")[0]
    row = await session.scalar(select(OfficerApiKey).where(OfficerApiKey.prefix == prefix))
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.key_hash.encode(), token_hash(key).encode()):
        return None
    now = datetime.now(UTC)
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
        row.last_used_at = now
    officer = await session.get(Officer, row.officer_id)
    return None if officer is None else (row, officer)


async def revoke_api_key(session: AsyncSession, officer_id: int, key_id: int) -> bool:
    done = await session.execute(update(OfficerApiKey).where(
        OfficerApiKey.id == key_id, OfficerApiKey.officer_id == officer_id, OfficerApiKey.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC)))
    return bool(affected(done))


async def api_keys_of(session: AsyncSession, officer_id: int) -> list[OfficerApiKey]:
    return list(await session.scalars(select(OfficerApiKey).where(OfficerApiKey.officer_id == officer_id)
                                      .order_by(OfficerApiKey.id)))


def pseudonym(secret: str, initiative_id: int, user_id: int | None) -> str:
    """How the PA side names a person: the same within one initiative, unrelated across initiatives, and
    not reversible without the instance's secret."""
    if user_id is None:
        return ""
    digest = hmac.new(_key(secret, "pseudonym"), f"{initiative_id}:{user_id}".encode(), hashlib.sha256).digest()
    return "P-" + base64.b32encode(digest[:5]).decode().lower()


__all__ = [
    "FIRST_LOGIN_LIFETIME",
    "LOGIN_LIFETIME",
    "SCOPES",
    "LoginToken",
    "add_officer",
    "api_keys_of",
    "check_api_key",
    "close_session",
    "csrf_ok",
    "csrf_token",
    "grant",
    "identity_code",
    "initiatives_of",
    "link_identity",
    "login_token",
    "login_url",
    "new_api_key",
    "officer_of_user",
    "open_session",
    "pseudonym",
    "read_login",
    "readable_initiative",
    "revoke_api_key",
    "session_officer",
    "use_login",
]
