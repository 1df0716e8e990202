"""Reading back what the bot did in a Matrix room, as a person's client sees it: the room's history, the
bot's messages, notices and edits, reactions, invites, and waiting for one of them (real Synapse)."""

from __future__ import annotations

import asyncio
from typing import Any

from nio import RoomMessageNotice, RoomMessagesResponse, RoomMessageText

from tests.synapse.users import MatrixUser


async def history(user: MatrixUser, room: str) -> list[Any]:
    """Every event of ``room`` the server lets ``user`` read, oldest first, read back page by page (a sync
    would skip events when many arrive at once: its timeline is limited)."""
    events: list[Any] = []
    start: str | None = None
    while True:
        page = await user.client.room_messages(room, start=start, limit=100)
        assert isinstance(page, RoomMessagesResponse), page
        events.extend(page.chunk)
        if not page.chunk or not page.end or page.end == start:
            return events[::-1]
        start = page.end


def _replaces(event: Any) -> bool:
    return (event.source.get("content", {}).get("m.relates_to") or {}).get("rel_type") == "m.replace"


def said(event: object, bot_id: str, *needles: str) -> bool:
    """A new message (not an edit) of the bot's containing every needle."""
    return (isinstance(event, RoomMessageText) and event.sender == bot_id and not _replaces(event)
            and all(needle in event.body for needle in needles))


def edited(event: object, *needles: str) -> bool:
    """An edit whose new text contains every needle."""
    if not isinstance(event, RoomMessageText) or not _replaces(event):
        return False
    new = (event.source.get("content", {}).get("m.new_content") or {}).get("body", "")
    return all(needle in new for needle in needles)


def notice(event: object, bot_id: str, needle: str) -> bool:
    return isinstance(event, RoomMessageNotice) and event.sender == bot_id and needle in event.body


def bot_texts(events: list[Any], bot_id: str, *, notices: bool = True) -> list[str]:
    """What the bot said, oldest first: its messages (and, with ``notices``, its notices), edits of earlier
    messages left out (they change a message, they are not one)."""
    kinds = (RoomMessageText, RoomMessageNotice) if notices else (RoomMessageText,)
    return [e.body for e in events if isinstance(e, kinds) and e.sender == bot_id and not _replaces(e)]


async def react(user: MatrixUser, room: str, event_id: str, key: str) -> None:
    await user.send_event(room, "m.reaction", {
        "m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key},
    })


async def seen_in(user: MatrixUser, room: str, predicate: Any, description: str, within: float = 15.0) -> Any:
    """The first event of ``room`` (read from its history, so other rooms' events never match) that satisfies
    ``predicate``, waiting for it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        found = [e for e in await history(user, room) if predicate(e)]
        if found:
            return found[0]
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise AssertionError(f"{user.user_id} saw no {description} in {room} within {within} s")
        await user.sync_once(timeout_ms=int(min(remaining, 2.0) * 1000))


async def invited_by(user: MatrixUser, inviter: str, within: float = 15.0) -> str:
    """The room ``inviter`` invites ``user`` to, once the invite arrives."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        rooms = [room_id for room_id, room in user.client.invited_rooms.items() if room.inviter == inviter]
        if rooms:
            assert len(rooms) == 1, rooms
            return rooms[0]
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise AssertionError(f"{user.user_id} was not invited by {inviter} within {within} s")
        await user.sync_once(timeout_ms=int(min(remaining, 2.0) * 1000))
