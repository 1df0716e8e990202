"""Every Interlinker's chat transcripts, replayed through the console adapter on each database.

A transcript (``interlinkers/<name>/transcripts/*.txt``) reads like the chat itself: ``> @ann /poll ...``
is a line typed by ``ann``; the lines after it are exactly what the bot must print in answer (the
console's ``bot:`` format); ``#`` starts a comment. A reply that changes by one character fails, except
where the transcript writes ``{*}``: there any text may stand (a time relative to now, a random receipt).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import ConsoleChat

ROOT = Path(__file__).resolve().parent.parent
TRANSCRIPTS = sorted(ROOT.glob("interlinkers/*/transcripts/*.txt"))


def parse(path: Path) -> list[tuple[str, str]]:
    steps: list[tuple[str, list[str]]] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        if raw.startswith("#") or not raw.strip():
            continue
        if raw.startswith("> "):
            steps.append((raw[2:], []))
        else:
            assert steps, f"{path.name}: output before any input: {raw!r}"
            steps[-1][1].append(raw)
    return [(line, "".join(f"{out}\n" for out in expected)) for line, expected in steps]


def matches(got: str, expected: str) -> bool:
    """``got`` is what ``expected`` describes. Private messages to different people (``bot → name:``) that
    come one after another go to different chats, delivered side by side: their order among themselves is
    not part of the story, so such a run is compared in a stable order."""
    got, expected = _private_runs_sorted(got), _private_runs_sorted(expected)
    if "{*}" not in expected:
        return got == expected
    return re.fullmatch(re.escape(expected).replace(re.escape("{*}"), ".*?"), got, re.DOTALL) is not None


_BLOCK = re.compile(r"^\S[^\n]*\n(?: {5}[^\n]*\n)*", re.MULTILINE)  # one message: its line and continuations


def _private_runs_sorted(text: str) -> str:
    blocks = _BLOCK.findall(text)
    if "".join(blocks) != text:
        return text
    out: list[str] = []
    run: list[str] = []
    for block in [*blocks, ""]:
        if block.startswith("bot → "):
            run.append(block)
            continue
        out += sorted(run)
        run = []
        out.append(block)
    return "".join(out)


def test_transcripts_exist() -> None:
    assert TRANSCRIPTS, "no transcripts found"


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=lambda p: f"{p.parent.parent.name}/{p.stem}")
async def test_transcript(path: Path, console_chat: ConsoleChat) -> None:
    for number, (line, expected) in enumerate(parse(path), start=1):
        got = await console_chat.say(line)
        if not matches(got, expected):
            assert _private_runs_sorted(got) == _private_runs_sorted(expected), f"{path.name}, step {number}: > {line}"
