"""Messages as JSON: outgoing ones kept in the store until delivered, incoming ones kept as dead letters."""

from __future__ import annotations

import base64
from typing import Any

from bot.events import (
    Button,
    ButtonPress,
    ChatRef,
    Command,
    Edit,
    Event,
    File,
    Location,
    NativePollAnswer,
    Notice,
    Outgoing,
    Photo,
    PollSpec,
    Reply,
    Text,
    Update,
    UserRef,
)


def _buttons(buttons: tuple[Button, ...]) -> list[list[str]]:
    return [[b.label, b.payload] if b.url is None else [b.label, b.payload, b.url] for b in buttons]


def _poll(poll: PollSpec | None) -> dict[str, Any] | None:
    if poll is None:
        return None
    return {"question": poll.question, "options": _buttons(poll.options), "closed": poll.closed}


def encode(message: Outgoing) -> dict[str, Any]:
    if isinstance(message, Reply):
        return {"type": "reply", "text": message.text, "buttons": _buttons(message.buttons), "key": message.key,
                "poll": _poll(message.poll), "ask": message.ask, "reply_to": message.reply_to}
    if isinstance(message, Edit):
        return {"type": "edit", "key": message.key, "text": message.text, "buttons": _buttons(message.buttons),
                "poll": _poll(message.poll)}
    if isinstance(message, Notice):
        return {"type": "notice", "text": message.text, "alert": message.alert}
    if isinstance(message, Location):
        return {"type": "location", **_location(message)}
    return {"type": "file", "filename": message.filename, "mime_type": message.mime_type, "caption": message.caption,
            "content": base64.b64encode(message.content).decode()}


def _location(location: Location) -> dict[str, Any]:
    return {"latitude": location.latitude, "longitude": location.longitude, "name": location.name,
            "address": location.address}


def _read_location(data: dict[str, Any]) -> Location:
    return Location(data["latitude"], data["longitude"], data["name"], data["address"])


def _read_buttons(raw: list[list[str]]) -> tuple[Button, ...]:
    return tuple(Button(*fields) for fields in raw)


def _read_poll(raw: dict[str, Any] | None) -> PollSpec | None:
    if raw is None:
        return None
    return PollSpec(raw["question"], _read_buttons(raw["options"]), raw["closed"])


def decode(data: dict[str, Any]) -> Outgoing:
    kind = data["type"]
    if kind == "reply":
        return Reply(data["text"], _read_buttons(data["buttons"]), data["key"], _read_poll(data["poll"]),
                     bool(data.get("ask", False)), data.get("reply_to"))
    if kind == "edit":
        return Edit(data["key"], data["text"], _read_buttons(data["buttons"]), poll=_read_poll(data["poll"]))
    if kind == "notice":
        return Notice(data["text"], bool(data.get("alert", False)))
    if kind == "location":
        return _read_location(data)
    return File(data["filename"], base64.b64decode(data["content"]), data["mime_type"], data["caption"])


def encode_update(update: Update) -> dict[str, Any]:
    """An incoming update as JSON, for the dead letters (replayed later by ``interlink dead-letters``)."""
    chat, user, event = update.chat, update.user, update.event
    if isinstance(event, Command):
        body: dict[str, Any] = {"type": "command", "name": event.name, "args": event.args}
    elif isinstance(event, Text):
        body = {"type": "text", "text": event.text}
    elif isinstance(event, ButtonPress):
        body = {"type": "button", "payload": event.payload}
    elif isinstance(event, Location):
        body = {"type": "location", **_location(event)}
    elif isinstance(event, Photo):
        body = {"type": "photo", "content": base64.b64encode(event.content).decode(), "mime_type": event.mime_type,
                "caption": event.caption, "size": event.size, "ref": event.ref}
    else:
        body = {"type": "native_poll", "payloads": list(event.payloads), "key": event.key}
    return {
        "update_id": update.update_id,
        "chat": {"platform": chat.platform, "chat_id": chat.chat_id, "thread_id": chat.thread_id,
                 "title": chat.title, "is_private": chat.is_private},
        "user": {"platform": user.platform, "user_id": user.user_id, "display_name": user.display_name,
                 "language": user.language},
        "event": body,
        "message_id": update.message_id,
    }


def decode_update(data: dict[str, Any]) -> Update:
    body = data["event"]
    kind = body["type"]
    event: Event
    if kind == "command":
        event = Command(body["name"], body["args"])
    elif kind == "text":
        event = Text(body["text"])
    elif kind == "button":
        event = ButtonPress(body["payload"])
    elif kind == "location":
        event = _read_location(body)
    elif kind == "photo":
        event = Photo(base64.b64decode(body["content"]), body["mime_type"], body["caption"], body["size"], body["ref"])
    else:
        event = NativePollAnswer(tuple(body["payloads"]), body["key"])
    return Update(data["update_id"], ChatRef(**data["chat"]), UserRef(**data["user"]), event,
                  data.get("message_id"))
