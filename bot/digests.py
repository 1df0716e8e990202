"""Digests: what happened in someone's initiatives since the last one, brought to the chat (and mailbox)
they already read, daily at a local time or weekly on a day.

A subscription belongs to an officer (chosen from the chat once their account is linked, or on the
dashboard) or to an organiser (from the chat). ``DigestWorker`` takes each due subscription in its own
transaction (``SKIP LOCKED`` on PostgreSQL: several workers never take the same one), stages the chat
message and the e-mail delivery, and moves ``since`` and ``next_at`` in that same transaction: a digest
goes out once, whatever restarts. The content comes from every Interlinker's ``digest`` lines and the
outcomes recorded in the period; an empty period sends nothing, or one line if the person asked for it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from email.utils import make_msgid
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import direct
from bot.errors import UserError
from bot.events import ChatRef, Reply
from bot.i18n import _, format_datetime, format_long_date, ngettext, using_locale
from bot.officers import initiatives_of
from bot.panels import Scope
from bot.roles import Role
from bot.sender import stage
from storage.background import BackgroundLoop
from storage.deliveries import enqueue
from storage.models import (
    ChatLink,
    DigestSubscription,
    DirectChat,
    Initiative,
    LedgerCheckpoint,
    Membership,
    Officer,
    OfficerIdentity,
    Outcome,
    User,
)
from storage.sql import is_postgres

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)
FREQUENCIES = ("daily", "weekly")
DIRECT_LANE = "direct"
MAX_PERIOD = timedelta(days=8)  # a digest after a long outage covers at most this much


def next_due(frequency: str, weekday: int, hour: int, minute: int, tz: ZoneInfo, after: datetime) -> datetime:
    """The first moment after ``after`` at ``hour:minute`` local time (on ``weekday`` for weekly ones),
    in UTC: computed in local time, so 08:00 stays 08:00 across a change to summer time."""
    local = after.astimezone(tz)
    for days in range(9):
        day = local.date() + timedelta(days=days)
        if frequency == "weekly" and day.weekday() != weekday:
            continue
        moment = datetime.combine(day, time(hour, minute), tz)
        if moment > after:
            return moment.astimezone(UTC)
    raise AssertionError("a week always has the day")


def parse_clock(typed: str) -> tuple[int, int]:
    """``08:00``, ``8.30`` or ``8`` as (hour, minute), or a UserError saying how to write it."""
    hour, _sep, minute = typed.strip().replace(".", ":").partition(":")
    try:
        h, m = int(hour), int(minute or 0)
    except ValueError:
        raise UserError(_("Write the time as HH:MM, for example 08:00.")) from None
    if not (0 <= h < 24 and 0 <= m < 60):
        raise UserError(_("Write the time as HH:MM, for example 08:00."))
    return h, m


def subscribe(session: AsyncSession, current: DigestSubscription | None, *, officer_id: int | None = None,
              user_id: int | None = None, frequency: str, weekday: int, hour: int, minute: int,
              tz: ZoneInfo) -> DigestSubscription:
    """Create or change someone's subscription (from the chat or the dashboard); the next digest is due at
    the new time and covers everything since the last one (or since now, for a new subscription)."""
    now = datetime.now(UTC)
    if current is None:
        current = DigestSubscription(officer_id=officer_id, user_id=user_id, when_empty="skip", by_email=True,
                                     since=now, next_at=now)
        session.add(current)
    current.frequency, current.weekday, current.hour, current.minute = frequency, weekday, hour, minute
    current.next_at = next_due(frequency, weekday, hour, minute, tz, now)
    return current


@dataclass(frozen=True, slots=True)
class Reader:
    """Who a digest is for: their language, zone, initiatives, and where it goes."""

    locale: str
    tz: ZoneInfo
    initiatives: list[Initiative]
    chat: ChatRef | None
    email: str | None
    officer: bool


async def reader_of(services: Services, session: AsyncSession, sub: DigestSubscription) -> Reader | None:
    settings = services.settings
    if sub.officer_id is not None:
        officer = await session.get(Officer, sub.officer_id)
        if officer is None:
            return None
        user_ids = list(await session.scalars(select(OfficerIdentity.user_id).where(
            OfficerIdentity.officer_id == officer.id).order_by(OfficerIdentity.user_id)))
        return Reader(officer.locale, ZoneInfo(officer.timezone), await initiatives_of(session, officer.id),
                      await _direct_chat(services, session, user_ids), officer.email, True)
    assert sub.user_id is not None
    user = await session.get(User, sub.user_id)
    if user is None:
        return None
    organised = await organised_initiatives(session, user.id)
    locale = user.locale or (organised[0].locale if organised else settings.default_locale)
    tz = ZoneInfo(user.timezone or (organised[0].timezone if organised else settings.timezone))
    return Reader(locale, tz, organised, await _direct_chat(services, session, [user.id]), None, False)


async def organised_initiatives(session: AsyncSession, user_id: int) -> list[Initiative]:
    """Initiatives this person organises, leaving out their private chats with the bot."""
    private = select(DirectChat.chat_id)
    shared = select(ChatLink.initiative_id).where(ChatLink.chat_id.not_in(private))
    return list(await session.scalars(
        select(Initiative).join(Membership, Membership.initiative_id == Initiative.id)
        .where(Membership.user_id == user_id, Membership.role >= int(Role.ORGANISER), Initiative.id.in_(shared))
        .order_by(Initiative.name, Initiative.id)))


async def _direct_chat(services: Services, session: AsyncSession, user_ids: list[int]) -> ChatRef | None:
    """The first of these chat accounts that can be written to privately."""
    for user_id in user_ids:
        person = await direct.recipient(session, user_id)
        if person is not None and (chat := direct.private_chat(person, services.adapters)) is not None:
            return chat
    return None


async def compose(services: Services, session: AsyncSession, reader: Reader, since: datetime, until: datetime
                  ) -> list[tuple[Initiative, list[str]]]:
    """Each initiative with something to say, and its lines, in the current language."""
    found = []
    for initiative in reader.initiatives:
        scope = Scope((initiative.id,), since, until, reader.tz,
                      dashboard_url=f"{services.settings.public_url}/dashboard/initiatives/{initiative.id}")
        lines: list[str] = []
        for interlinker in services.interlinkers.values():
            lines.extend(await interlinker.digest(session, scope))
        # Each Interlinker says what was decided in its own words; the core counts what reached the PA.
        recorded = int(await session.scalar(select(func.count()).select_from(Outcome).where(
            Outcome.initiative_id == initiative.id, Outcome.decided_at >= since, Outcome.decided_at < until)) or 0)
        if recorded:
            lines.append(ngettext("{count} new outcome recorded for the public administration.",
                                  "{count} new outcomes recorded for the public administration.",
                                  recorded).format(count=recorded))
        if lines:
            lines.extend(await _checkpoint_line(session, initiative.id, reader.tz))
            found.append((initiative, lines))
    return found


async def _checkpoint_line(session: AsyncSession, initiative_id: int, tz: ZoneInfo) -> list[str]:
    """The ledger's last signed checkpoint, published where the server cannot take it back (a mailbox, a
    chat): whoever keeps it can later show that the ledger was not cut short or rewritten."""
    last = (await session.scalars(select(LedgerCheckpoint).where(LedgerCheckpoint.initiative_id == initiative_id)
                                  .order_by(LedgerCheckpoint.size.desc()).limit(1))).first()
    if last is None:
        return []
    return [ngettext("Ledger: {size} entry, signed {when} with key {key}. To check it later: "
                     "interlink verify --expect {log}/{size}:{head}",
                     "Ledger: {size} entries, signed {when} with key {key}. To check it later: "
                     "interlink verify --expect {log}/{size}:{head}", last.size).format(
        size=last.size, when=format_datetime(last.signed_at, tz, "short"), key=last.key_id, head=last.head,
        log=initiative_id)]


def render(services: Services, reader: Reader, sections: list[tuple[Initiative, list[str]]], since: datetime,
           until: datetime) -> tuple[str, str]:
    """Subject and plain text of a digest (empty sections: the one line saying nothing happened)."""
    day = format_long_date(until.astimezone(reader.tz).date())
    subject = _("Digest of {day}").format(day=day)
    if not sections:
        return subject, _("Nothing new in your initiatives since {day}.").format(
            day=format_long_date(since.astimezone(reader.tz).date()))
    blocks = [subject]
    for initiative, lines in sections:
        block = [f"▸ {initiative.name}", *(f"• {line}" for line in lines)]
        if reader.officer:
            block.append(_("Dashboard: {url}").format(
                url=f"{services.settings.public_url}/dashboard/initiatives/{initiative.id}"))
        blocks.append("\n".join(block))
    return subject, "\n\n".join(blocks)


class DigestWorker(BackgroundLoop):
    """Sends due digests, one subscription per transaction."""

    name = "digests"

    def __init__(self, services: Services, email: bool, interval: float = 30.0) -> None:
        super().__init__()
        self._services = services
        self._email = email  # an SMTP server is configured
        self._interval = interval

    async def _run(self) -> None:
        await self._repeat(self.send_due, self._interval, log, "digests failed")

    async def send_due(self, now: datetime | None = None) -> int:
        """Stage every due digest; how many were staged (empty ones skipped included)."""
        done = 0
        while await self._one(now or datetime.now(UTC)):
            done += 1
        return done

    async def _one(self, now: datetime) -> bool:
        services = self._services
        chats: list[ChatRef] = []
        async with services.sessions.begin() as session:
            query = (select(DigestSubscription).where(DigestSubscription.next_at <= now)
                     .order_by(DigestSubscription.next_at).limit(1))
            if is_postgres(session):
                query = query.with_for_update(skip_locked=True)
            sub = await session.scalar(query)
            if sub is None:
                return False
            reader = await reader_of(services, session, sub)
            since = max(sub.since, now - MAX_PERIOD)
            if reader is not None:
                with using_locale(reader.locale):
                    sections = await compose(services, session, reader, since, now)
                    if sections or sub.when_empty == "line":
                        subject, text = render(services, reader, sections, since, now)
                        origin = f"digest:{sub.id}:{now.isoformat()}"  # one per period: the key of its e-mail
                        if reader.chat is not None:
                            await stage(session, reader.chat, [Reply(text)], origin, DIRECT_LANE)
                            chats.append(reader.chat)
                        if reader.email and sub.by_email and self._email:
                            await enqueue(session, origin, "initiative", "email",
                                          {"to": reader.email, "subject": subject, "text": text,
                                           "message_id": make_msgid(domain="interlink.invalid")})
                tz = reader.tz
            else:
                tz = services.settings.tz
            sub.since = now
            sub.next_at = next_due(sub.frequency, sub.weekday, sub.hour, sub.minute, tz, now)
        for chat in chats:
            services.sender.kick(chat)
        services.deliveries.wake()
        return True


__all__ = ["FREQUENCIES", "DigestWorker", "Reader", "compose", "next_due", "organised_initiatives", "parse_clock",
           "reader_of", "render", "subscribe"]
