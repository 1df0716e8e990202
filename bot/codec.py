"""Outgoing messages as JSON, so replies can be kept in the store until they are delivered."""

from __future__ import annotations

import base64
from typing import Any

from bot.events import Button, Edit, File, Notice, Outgoing, PollSpec, Reply


def _buttons(buttons: tuple[Button, ...]) -> list[list[str]]:
    return [[b.label, b.payload] for b in buttons]


def _poll(poll: PollSpec | None) -> dict[str, Any] | None:
    if poll is None:
        return None
    return {"question": poll.question, "options": _buttons(poll.options), "closed": poll.closed}


def encode(message: Outgoing) -> dict[str, Any]:
    if isinstance(message, Reply):
        return {"type": "reply", "text": message.text, "buttons": _buttons(message.buttons), "key": message.key,
                "poll": _poll(message.poll)}
    if isinstance(message, Edit):
        return {"type": "edit", "key": message.key, "text": message.text, "buttons": _buttons(message.buttons),
                "poll": _poll(message.poll)}
    if isinstance(message, Notice):
        return {"type": "notice", "text": message.text}
    return {"type": "file", "filename": message.filename, "mime_type": message.mime_type, "caption": message.caption,
            "content": base64.b64encode(message.content).decode()}


def _read_buttons(raw: list[list[str]]) -> tuple[Button, ...]:
    return tuple(Button(label, payload) for label, payload in raw)


def _read_poll(raw: dict[str, Any] | None) -> PollSpec | None:
    if raw is None:
        return None
    return PollSpec(raw["question"], _read_buttons(raw["options"]), raw["closed"])


def decode(data: dict[str, Any]) -> Outgoing:
    kind = data["type"]
    if kind == "reply":
        return Reply(data["text"], _read_buttons(data["buttons"]), data["key"], _read_poll(data["poll"]))
    if kind == "edit":
        return Edit(data["key"], data["text"], _read_buttons(data["buttons"]), poll=_read_poll(data["poll"]))
    if kind == "notice":
        return Notice(data["text"])
    return File(data["filename"], base64.b64decode(data["content"]), data["mime_type"], data["caption"])
