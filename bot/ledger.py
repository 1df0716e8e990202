"""Signed checkpoints of the initiatives' ledgers (``storage.ledger``), and the instance's signing key.

A hash chain shows that no entry was edited or reordered, but not that its newest entries were not cut
off: a checkpoint does. It states "this ledger had ``size`` entries ending in ``head``", signed with the
instance's Ed25519 key, and is published (API, digests) so that copies live outside this server. A
ledger shorter than a checkpoint someone kept, or with another hash at that size, was changed.

Checkpoints are signed at every poll close (in the closing transaction) and, for every ledger that grew,
every ``ledger_checkpoint_minutes`` (default 60) by whichever worker gets there first.

The key: ``ledger_key_file`` (a PEM Ed25519 private key) if set, else derived from the instance secret
(HKDF-SHA256), so every worker sharing the secret signs with the same key and there is nothing more to
keep safe. Its id is the first 16 hex digits of SHA-256 over the raw public key.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import ConfigError, Settings
from storage import ledger
from storage.background import BackgroundLoop
from storage.models import LedgerCheckpoint, LedgerHead
from storage.sql import is_postgres

log = logging.getLogger(__name__)
CHECKPOINT_VERSION = 1


def key_id(public_raw: bytes) -> str:
    return hashlib.sha256(public_raw).hexdigest()[:16]


@dataclass(frozen=True)
class LedgerKey:
    private: Ed25519PrivateKey

    @classmethod
    def from_settings(cls, settings: Settings) -> LedgerKey:
        path = settings.source.str("ledger_key_file")
        if not path:
            seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                        info=b"interlink ledger ed25519 v1").derive(settings.secret.encode())
            return cls(Ed25519PrivateKey.from_private_bytes(seed))
        name = settings.source.env_name("ledger_key_file")
        try:
            loaded = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
        except (OSError, ValueError, TypeError) as exc:
            raise ConfigError(f"{name}: cannot read an Ed25519 private key from {path!r} ({exc})") from None
        if not isinstance(loaded, Ed25519PrivateKey):
            raise ConfigError(f"{name}: {path!r} holds a key that is not Ed25519")
        return cls(loaded)

    @property
    def key_id(self) -> str:
        return public_key_id(self.private.public_key())

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(serialization.Encoding.PEM,
                                                      serialization.PublicFormat.SubjectPublicKeyInfo)

    def sign(self, body: bytes) -> str:
        return base64.b64encode(self.private.sign(body)).decode()


def public_key_id(public: Ed25519PublicKey) -> str:
    return key_id(public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def public_key_from_pem(pem: bytes) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def signature_holds(public: Ed25519PublicKey, signature: str, body: bytes) -> bool:
    try:
        public.verify(base64.b64decode(signature, validate=True), body)
    except (InvalidSignature, ValueError):
        return False
    return True


async def sign_checkpoint(session: AsyncSession, key: LedgerKey, initiative_id: int) -> LedgerCheckpoint | None:
    """Sign the initiative's head in ``session``'s transaction, unless it is empty or already signed at
    this size (another worker got there first: both hold the head's lock in turn)."""
    head = await ledger.lock_head(session, initiative_id)
    if head.size == 0 or head.signed >= head.size:
        return None
    now = datetime.now(UTC)
    body = ledger.canonical({"head": head.head, "key": key.key_id, "log": initiative_id,
                             "signed_at": now.isoformat(), "size": head.size, "v": CHECKPOINT_VERSION})
    checkpoint = LedgerCheckpoint(initiative_id=initiative_id, size=head.size, head=head.head, signed_at=now,
                                  key_id=key.key_id, body=body.decode(), signature=key.sign(body))
    session.add(checkpoint)
    await session.execute(update(LedgerHead).where(LedgerHead.initiative_id == initiative_id)
                          .values(signed=head.size))
    await session.flush()
    return checkpoint


def published(checkpoint: LedgerCheckpoint) -> dict[str, object]:
    """A checkpoint as the API and the bundle publish it: the signed body, as signed, and its signature."""
    return {"initiative_id": checkpoint.initiative_id, "size": checkpoint.size, "head": checkpoint.head,
            "signed_at": checkpoint.signed_at.astimezone(UTC).isoformat(), "key_id": checkpoint.key_id,
            "body": checkpoint.body, "signature": checkpoint.signature}


class CheckpointWorker(BackgroundLoop):
    """Every ``interval`` seconds, sign every ledger that grew since its last checkpoint, each in its own
    transaction (``SKIP LOCKED`` on PostgreSQL: a head being appended to is signed next time)."""

    name = "ledger-checkpoints"

    def __init__(self, sessions: async_sessionmaker[AsyncSession], key: LedgerKey, interval: float) -> None:
        super().__init__()
        self._sessions, self._key, self._interval = sessions, key, interval

    async def _run(self) -> None:
        await self._repeat(self.sign_grown, self._interval, log, "signing ledger checkpoints failed")

    async def sign_grown(self) -> int:
        async with self._sessions() as session:
            grown = list((await session.scalars(
                select(LedgerHead.initiative_id).where(LedgerHead.signed < LedgerHead.size))).all())
        signed = 0
        for initiative_id in grown:
            async with self._sessions.begin() as session:
                query = select(LedgerHead.initiative_id).where(LedgerHead.initiative_id == initiative_id,
                                                               LedgerHead.signed < LedgerHead.size)
                if is_postgres(session):
                    query = query.with_for_update(skip_locked=True)
                if (await session.scalar(query)) is not None:
                    signed += await sign_checkpoint(session, self._key, initiative_id) is not None
        return signed


__all__ = ["CheckpointWorker", "LedgerKey", "key_id", "public_key_from_pem", "public_key_id", "published",
           "sign_checkpoint", "signature_holds"]
