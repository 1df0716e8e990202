"""``interlink officers …``: create officers, give them initiatives, print log-in links and API keys."""

from __future__ import annotations

import argparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.errors import UserError
from bot.i18n import SUPPORTED_LOCALES
from bot.interlinker import CliCommand
from bot.officers import (
    FIRST_LOGIN_LIFETIME,
    SCOPES,
    add_officer,
    api_keys_of,
    grant,
    initiatives_of,
    login_token,
    login_url,
    new_api_key,
    revoke_api_key,
)
from storage.models import Initiative, Officer

ACTIONS = ("add", "list", "grant", "login", "key", "revoke-key")


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=ACTIONS)
    parser.add_argument("who", nargs="?", help="add: the officer's name; otherwise the officer's number")
    parser.add_argument("key_id", nargs="?", type=int, help="revoke-key: the key's number")
    parser.add_argument("--initiative", action="append", default=[], help="an initiative's name (repeatable)")
    parser.add_argument("--all", action="store_true", help="add: sees every initiative, present and future")
    parser.add_argument("--email", help="where e-mail digests go")
    parser.add_argument("--language", choices=SUPPORTED_LOCALES, help="the dashboard's and digests' language")
    parser.add_argument("--timezone", help="e.g. Europe/Rome (default: the instance's)")
    parser.add_argument("--scope", choices=SCOPES, default="read", help="key: what the API key may do")
    parser.add_argument("--label", default="", help="key: a name to recognise it by")


async def initiative_named(session: AsyncSession, name: str) -> Initiative:
    """The one initiative an operator named on the command line, or a ``UserError`` saying why not."""
    found = list(await session.scalars(select(Initiative).where(Initiative.name == name)))
    if len(found) != 1:
        raise UserError(f"no initiative named {name!r}" if not found else f"several initiatives are named {name!r}")
    return found[0]


async def _initiative_ids(session: AsyncSession, names: list[str]) -> list[int]:
    return [(await initiative_named(session, name)).id for name in names]


async def _officer(session: AsyncSession, who: str | None) -> Officer:
    officer = await session.get(Officer, int(who)) if who and who.isdigit() else None
    if officer is None:
        raise UserError(f"no officer number {who!r} (see: interlink officers list)")
    return officer


def _link(settings: Settings, officer: Officer) -> str:
    token = login_token(settings.secret, officer.id, FIRST_LOGIN_LIFETIME)
    return f"log-in link for {officer.name} (works once, for 24 hours):\n{login_url(settings.public_url, token)}"


async def _run(sessions: async_sessionmaker[AsyncSession], args: argparse.Namespace) -> str:
    settings: Settings = args.settings
    async with sessions.begin() as session:
        if args.action == "add":
            if not args.who:
                raise UserError("write the officer's name: interlink officers add \"Giulia Rossi\" --initiative …")
            timezone = args.timezone or settings.timezone
            try:
                ZoneInfo(timezone)
            except (ZoneInfoNotFoundError, ValueError):
                raise UserError(f"--timezone: {timezone!r} is not a known time zone") from None
            officer = await add_officer(session, args.who, args.email, args.language or settings.default_locale,
                                        timezone, await _initiative_ids(session, args.initiative), args.all)
            return f"officer {officer.id}: {officer.name}\n" + _link(settings, officer)
        if args.action == "list":
            lines = []
            for officer in await session.scalars(select(Officer).order_by(Officer.id)):
                names = "every initiative" if officer.sees_all else (
                    ", ".join(row.name for row in await initiatives_of(session, officer.id)) or "no initiative")
                keys = [f"key {key.id} ({key.scope}{', revoked' if key.revoked_at else ''})"
                        for key in await api_keys_of(session, officer.id)]
                lines.append(f"{officer.id}: {officer.name} <{officer.email or 'no e-mail'}> {officer.locale} "
                             f"{officer.timezone} — {names}" + (f"; {', '.join(keys)}" if keys else ""))
            return "\n".join(lines) or "no officers yet: interlink officers add \"Name\" --initiative \"…\""
        officer = await _officer(session, args.who)
        if args.action == "grant":
            for initiative_id in await _initiative_ids(session, args.initiative):
                await grant(session, officer.id, initiative_id)
            names = ", ".join(row.name for row in await initiatives_of(session, officer.id))
            return f"{officer.name} now sees: {names}"
        if args.action == "login":
            return _link(settings, officer)
        if args.action == "key":
            key = await new_api_key(session, officer.id, args.scope, args.label)
            return f"API key for {officer.name} ({args.scope}); shown only now, keep it safe:\n{key}"
        if args.key_id is None or not await revoke_api_key(session, officer.id, args.key_id):
            raise UserError(f"{officer.name} has no live key number {args.key_id}")
        return f"key {args.key_id} of {officer.name} revoked"


COMMANDS = (CliCommand("officers", "PA officers: add, list, grant an initiative, print a log-in link, make or "
                                   "revoke an API key", _arguments, _run),)

__all__ = ["COMMANDS", "initiative_named"]
