"""Turning platform-neutral messages into Matrix event contents, and Matrix answers back into choices.

Pure functions, no I/O, so the sizes and shapes Synapse insists on are easy to reason about.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any

from bot.events import Button, Location, PollSpec
from bot.geo import Point, read_point

# Synapse rejects events whose JSON exceeds 65536 bytes. Encryption base64-encodes the content (×4/3) and
# adds headers, so the content we build stays under this budget whether the room is encrypted or not.
CONTENT_BUDGET = 40_000

POLL_START_TYPES = ("org.matrix.msc3381.poll.start", "m.poll.start")
POLL_RESPONSE_TYPES = ("org.matrix.msc3381.poll.response", "m.poll.response")
POLL_START = "org.matrix.msc3381.poll.start"
POLL_END = "org.matrix.msc3381.poll.end"

KEYCAPS = ("1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣", "6️⃣", "7️⃣", "8️⃣", "9️⃣", "🔟")


def keycap_number(key: str) -> int | None:
    """1-based option number of a keycap reaction; clients differ on the variation selector."""
    normalised = key.replace("\ufe0f", "")
    for index, cap in enumerate(KEYCAPS, start=1):
        if cap.replace("\ufe0f", "") == normalised:
            return index
    return None


def to_html(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")


def options_block(buttons: Sequence[Button], hint: str) -> tuple[str, str]:
    """Buttons as a numbered list (plain, HTML): Matrix has no buttons."""
    plain = "\n".join(f"{number}. {button.label}" for number, button in enumerate(buttons, start=1))
    items = "".join(f"<li>{html.escape(button.label)}</li>" for button in buttons)
    return f"{plain}\n{hint}", f"<ol>{items}</ol><em>{html.escape(hint)}</em>"


def message_content(text: str, buttons: Sequence[Button] = (), hint: str = "") -> dict[str, Any]:
    plain, rich = text, to_html(text)
    if buttons:
        block_plain, block_html = options_block(buttons, hint)
        plain = f"{text}\n\n{block_plain}" if text else block_plain
        rich = f"{rich}<br><br>{block_html}" if text else block_html
    return {"msgtype": "m.text", "body": plain, "format": "org.matrix.custom.html", "formatted_body": rich}


def content_size(content: dict[str, Any]) -> int:
    return len(json.dumps(content, ensure_ascii=False).encode())


def edit_content(event_id: str, new: dict[str, Any]) -> dict[str, Any]:
    """An m.replace edit: clients that know edits show ``m.new_content``, others the starred fallback."""
    return {
        "msgtype": new["msgtype"],
        "body": f"* {new['body']}",
        "format": "org.matrix.custom.html",
        "formatted_body": f"* {new['formatted_body']}",
        "m.new_content": new,
        "m.relates_to": {"rel_type": "m.replace", "event_id": event_id},
    }


def poll_start_content(poll: PollSpec) -> dict[str, Any]:
    """MSC3381 poll (unstable names Element renders, plus the stable ``m.poll`` ones). Answer ids are the
    core's signed payloads, so a response maps back to payloads without any lookup table."""
    fallback = "\n".join([poll.question, *(f"{n}. {b.label}" for n, b in enumerate(poll.options, 1))])
    return {
        POLL_START: {
            "kind": "org.matrix.msc3381.poll.disclosed",
            "max_selections": 1,
            "question": {"org.matrix.msc1767.text": poll.question, "body": poll.question},
            "answers": [{"id": b.payload, "org.matrix.msc1767.text": b.label} for b in poll.options],
        },
        "org.matrix.msc1767.text": fallback,
        "m.poll": {
            "kind": "m.disclosed",
            "max_selections": 1,
            "question": {"m.text": [{"body": poll.question}]},
            "answers": [{"m.id": b.payload, "m.text": [{"body": b.label}]} for b in poll.options],
        },
        "m.text": [{"body": fallback}],
        "body": fallback,
    }


def poll_end_content(poll_event_id: str, text: str) -> dict[str, Any]:
    return {
        "m.relates_to": {"rel_type": "m.reference", "event_id": poll_event_id},
        POLL_END: {},
        "org.matrix.msc1767.text": text,
        "m.text": [{"body": text}],
        "body": text,
    }


def poll_response(content: dict[str, Any]) -> tuple[str | None, tuple[str, ...]]:
    """(poll event id, chosen answer ids) of an MSC3381 or stable poll response."""
    relates = content.get("m.relates_to") or {}
    poll_id = relates.get("event_id") if isinstance(relates, dict) else None
    answers: object = None
    unstable = content.get("org.matrix.msc3381.poll.response")
    if isinstance(unstable, dict):
        answers = unstable.get("answers")
    if answers is None:
        answers = content.get("m.selections")
    if not isinstance(answers, list):
        answers = []
    return (poll_id if isinstance(poll_id, str) else None,
            tuple(a for a in answers if isinstance(a, str)))


def parse_command(body: str) -> tuple[str, str] | None:
    """``!name args`` or ``/name args`` (Element swallows unknown ``/`` commands, hence ``!``)."""
    text = body.strip()
    if len(text) < 2 or text[0] not in "!/" or not (text[1].isalpha()):
        return None
    head, _, args = text[1:].partition(" ")
    name = head.split("@", 1)[0].lower()
    return name, args.strip()


def strip_reply_fallback(body: str) -> str:
    """Drop the ``> quoted`` lines clients prepend to replies, so the answer itself is what is parsed."""
    lines = body.split("\n")
    if not lines or not lines[0].startswith("> "):
        return body
    while lines and lines[0].startswith(">"):
        lines.pop(0)
    while lines and not lines[0].strip():
        lines.pop(0)
    return "\n".join(lines)


def location_content(location: Location) -> dict[str, Any]:
    """``m.location`` with the stable geo URI and its MSC3488 twin, which newer clients draw as a map."""
    point = Point(location.latitude, location.longitude)
    body = location.text()
    return {"msgtype": "m.location", "body": body, "geo_uri": point.geo_uri,
            "org.matrix.msc3488.location": {"uri": point.geo_uri, "description": location.name or body},
            "org.matrix.msc1767.text": body}


def read_location(content: dict[str, Any]) -> Location | None:
    """A shared ``m.location``: its geo URI (stable or MSC3488), with the body's words as the place's name
    unless the body is just the client's "Location geo:…" label."""
    uri = content.get("geo_uri") or (content.get("org.matrix.msc3488.location") or {}).get("uri") or ""
    _words, point = read_point(str(uri))
    if point is None:
        return None
    body = str(content.get("body") or "")
    name = "" if body.startswith(("Location ", "geo:")) else read_point(body)[0][:200]
    return Location(point.latitude, point.longitude, name)
