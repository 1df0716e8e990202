"""Fitting text into a network's limits, the same way on every network."""

from __future__ import annotations

from collections.abc import Callable

Fits = Callable[[str], bool]


def within(limit: int) -> Fits:
    """``fits`` for a plain character limit."""
    return lambda text: len(text) <= limit


def split_text(text: str, fits: Fits) -> list[str]:
    """Split ``text`` into pieces for which ``fits(piece)`` holds, at line breaks, else spaces, else
    characters; a reader gets every word, in order, in as few messages as possible."""
    if fits(text):
        return [text]
    pieces: list[str] = []
    rest = text
    while rest:
        if fits(rest):
            pieces.append(rest)
            break
        cut = max(1, _longest_prefix(rest, fits))
        for separator in ("\n", " "):
            at = rest.rfind(separator, 0, cut)
            if at > cut // 2:
                cut = at + 1
                break
        pieces.append(rest[:cut].rstrip("\n "))
        rest = rest[cut:]
    return pieces


def shorten(text: str, fits: Fits) -> str:
    """The longest prefix of ``text`` that fits, marked as shortened with "…" (for edits and captions,
    which cannot be split into several messages)."""
    if fits(text):
        return text
    return text[: _longest_prefix(text, lambda prefix: fits(prefix + "…"))] + "…"


def _longest_prefix(text: str, fits: Fits) -> int:
    low, high = 0, len(text)
    while low < high:  # binary search: ``fits`` may be costly (Matrix measures JSON)
        mid = (low + high + 1) // 2
        if fits(text[:mid]):
            low = mid
        else:
            high = mid - 1
    return low
