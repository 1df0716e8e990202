"""Who speaks, in which initiative, with which role: one query for someone the bot knows already.

This runs for every update, so it is plain SQL built once (no ORM objects, no statement built per call).
Someone new costs two more statements (their user row and their membership), each an ``INSERT … ON
CONFLICT`` so two workers or two chats meeting the same person at once cannot both create them.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Delete, Insert, Update, bindparam, case, delete, exists, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.events import ChatRef, UserRef
from bot.roles import Role
from storage.hot import Hot
from storage.models import ChatLink, Initiative, Membership, User, utcday, utcnow
from storage.sql import dialect_insert, is_postgres, table_of


@dataclass(frozen=True, slots=True)
class InitiativeInfo:
    """The initiative a chat belongs to, as a handler reads it (change it with SQL, not here)."""

    id: int
    name: str
    timezone: str
    locale: str


@dataclass(frozen=True, slots=True)
class Person:
    """The person speaking, as a handler reads them."""

    id: int
    display_name: str
    locale: str | None


_chats, _initiatives = table_of(ChatLink), table_of(Initiative)
_users, _members = table_of(User), table_of(Membership)

_WHO_SELECT = (
    select(_initiatives.c.id, _initiatives.c.name, _initiatives.c.timezone, _initiatives.c.locale,
           _users.c.id, _users.c.display_name, _users.c.locale, _members.c.role)
    .select_from(_chats)
    .join(_initiatives, _initiatives.c.id == _chats.c.initiative_id)
    .outerjoin(_users, (_users.c.platform == bindparam("platform"))
               & (_users.c.platform_user_id == bindparam("user_id")))
    .outerjoin(_members, (_members.c.initiative_id == _chats.c.initiative_id) & (_members.c.user_id == _users.c.id))
    .where(_chats.c.platform == bindparam("platform"), _chats.c.chat_id == bindparam("chat_id"))
)
_WHO = Hot(_WHO_SELECT)
_WHO_SUBQUERY = _WHO_SELECT.subquery("who")
_WHO_WIDTH = len(_WHO_SUBQUERY.c)
_NOT_LOOKED_UP: Any = object()
_USER_ID = Hot(select(_users.c.id).where(
    _users.c.platform == bindparam("platform"), _users.c.platform_user_id == bindparam("user_id")))
_ROLE = Hot(select(_members.c.role).where(
    _members.c.initiative_id == bindparam("initiative_id"), _members.c.user_id == bindparam("person")))
_RENAME = Hot(update(_users).where(_users.c.id == bindparam("person")).values(display_name=bindparam("new_name")))
_NEW_INITIATIVE: Insert = _initiatives.insert().returning(_initiatives.c.id)
_NEW_CHAT: Insert = _chats.insert()
_FORGET_MEMBERSHIPS: Delete = delete(_members).where(_members.c.user_id == bindparam("person"))


@functools.cache
def _new_user(postgres: bool) -> Hot:
    """A person is not per chat: two chats may see them first at the same instant."""
    statement = dialect_insert(postgres, _users)
    return Hot(statement.on_conflict_do_nothing(index_elements=["platform", "platform_user_id"])
               .returning(_users.c.id))


@functools.cache
def _new_member(postgres: bool) -> Hot:
    """The first member of an initiative is its organiser; everyone after them a member."""
    initiative = bindparam("initiative_id", type_=_members.c.initiative_id.type)
    others = exists().where(_members.c.initiative_id == initiative)
    role = case((others, literal(int(Role.MEMBER))), else_=literal(int(Role.ORGANISER)))
    rows = select(initiative, bindparam("person", type_=_members.c.user_id.type), role,
                  bindparam("day", type_=_members.c.joined_at.type))
    statement = dialect_insert(postgres, _members).from_select(
        ["initiative_id", "user_id", "role", "joined_at"], rows)
    return Hot(statement.on_conflict_do_nothing(index_elements=["initiative_id", "user_id"])
               .returning(_members.c.role))


def who_params(chat: ChatRef, who: UserRef) -> dict[str, Any]:
    return {"platform": chat.platform, "chat_id": chat.chat_id, "user_id": who.user_id}


def looked_up(row: Sequence[Any]) -> tuple[Any, ...] | None:
    """The identity columns of a row that ends with ``who_columns(...)`` (None: the chat is new)."""
    found = tuple(row[-_WHO_WIDTH:])
    return None if found[0] is None else found


def who_columns() -> tuple[Any, ...]:
    """The identity query as a subquery's columns, for a statement that also does something else (the
    dispatcher's claim on PostgreSQL: one round trip for both). Its snapshot may predate the chat's lock:
    ``identify`` then creates nothing twice (every insert is ON CONFLICT, with a look-up after)."""
    return tuple(_WHO_SUBQUERY.c)


async def identify(session: AsyncSession, chat: ChatRef, who: UserRef, timezone: str,
                   locale: str, found: Any = _NOT_LOOKED_UP) -> tuple[InitiativeInfo, Person, Role]:
    """The chat's initiative (made on first contact, with ``timezone`` and ``locale``), the person
    (made, or renamed, as needed) and their role in it. ``found``: the identity row, when the caller
    already read it (``who_columns``)."""
    if found is _NOT_LOOKED_UP:
        found = (await _WHO.run(session, who_params(chat, who))).first()
    name = who.display_name[:200]
    if found is None:
        title = (chat.title or who.display_name or chat.chat_id)[:200]
        initiative_id = (await session.execute(_NEW_INITIATIVE, {"name": title, "timezone": timezone,
                                                                 "locale": locale, "created_at": utcnow()})
                         ).scalar_one()
        await session.execute(_NEW_CHAT, {"platform": chat.platform, "chat_id": chat.chat_id,
                                          "initiative_id": initiative_id, "title": chat.title})
        initiative = InitiativeInfo(initiative_id, title, timezone, locale)
        person_id, known_name, person_locale, role = None, None, None, None
    else:
        initiative = InitiativeInfo(found[0], found[1], found[2], found[3])
        person_id, known_name, person_locale, role = found[4], found[5], found[6], found[7]
    postgres = is_postgres(session)
    if person_id is None:
        person_id = (await _new_user(postgres).run(session, {
            "platform": who.platform, "platform_user_id": who.user_id, "display_name": name,
            "created_at": utcday(), "locale": None})).scalar()
        if person_id is None:  # made by another chat's update a moment ago
            person_id = (await _USER_ID.run(session, {"platform": who.platform, "user_id": who.user_id})).scalar()
            known_name = None
        else:
            known_name = name
    if known_name != name:
        await _RENAME.run(session, {"person": person_id, "new_name": name})
    if role is None:
        params = {"initiative_id": initiative.id, "person": person_id}
        role = (await _new_member(postgres).run(session, {**params, "day": utcday()})).scalar()
        if role is None:
            role = (await _ROLE.run(session, params)).scalar()
    return initiative, Person(person_id, name, person_locale), Role(role)


_SET_LOCALE: Update = update(_users).where(_users.c.id == bindparam("person")).values(
    locale=bindparam("new_locale"))
_FORGET_USER: Delete = delete(_users).where(_users.c.id == bindparam("person"))


async def set_person_locale(session: AsyncSession, person: Person, locale: str) -> Person:
    await session.execute(_SET_LOCALE, {"person": person.id, "new_locale": locale})
    return Person(person.id, person.display_name, locale)


async def forget_person(session: AsyncSession, person: Person) -> None:
    """Delete the person and their memberships (Interlinkers have forgotten their part before)."""
    await session.execute(_FORGET_MEMBERSHIPS, {"person": person.id})
    await session.execute(_FORGET_USER, {"person": person.id})
