"""Telegram's HTML parse mode, strictly enough to reject what the real server rejects.

The real server (TDLib's ``parse_html``) accepts a small tag set, decodes the five named entities and
numeric ones, and keeps an ``&`` that starts no entity. Its error texts are reproduced verbatim so the
adapter is tested against the messages it will meet in production.
"""

from __future__ import annotations

import html
import re

SUPPORTED_TAGS = frozenset(
    {
        "a", "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
        "tg-emoji", "code", "pre", "blockquote",
    }
)
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});")
_TAG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]*")


class EntityError(ValueError):
    """The text is not valid Telegram HTML; ``str(exc)`` is the server's explanation."""


def parse_html(text: str) -> str:
    """Return the plain text shown to users, or raise ``EntityError`` with Telegram's wording."""
    out: list[str] = []
    stack: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "&":
            match = _ENTITY.match(text, i)
            if match:
                out.append(html.unescape(match.group(0)))
                i = match.end()
                continue
            out.append("&")
            i += 1
            continue
        if ch != "<":
            out.append(ch)
            i += 1
            continue
        offset = len(text[:i].encode("utf-8"))
        close = text.find(">", i)
        if text.startswith("</", i):
            if close < 0:
                raise EntityError(f"Unclosed end tag at byte offset {offset}")
            name = text[i + 2 : close].strip().lower()
            if not stack:
                raise EntityError(f"Unexpected end tag at byte offset {offset}")
            if name and name != stack[-1]:
                raise EntityError(
                    f'Unmatched end tag at byte offset {offset}, expected "</{stack[-1]}>", found "</{name}>"'
                )
            stack.pop()
            i = close + 1
            continue
        match = _TAG_NAME.match(text, i + 1)
        if not match:
            raise EntityError(f'Unsupported start tag "" at byte offset {offset}')
        name = match.group(0).lower()
        if name not in SUPPORTED_TAGS:
            raise EntityError(f'Unsupported start tag "{name}" at byte offset {offset}')
        if close < 0:
            raise EntityError(f"Unclosed start tag at byte offset {offset}")
        stack.append(name)
        i = close + 1
    if stack:
        raise EntityError(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(out)
