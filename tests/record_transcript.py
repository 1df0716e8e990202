"""Re-record a transcript's expected output from what the bot says now, keeping its inputs and comments:
``python -m tests.record_transcript interlinkers/polls/transcripts/x.en.txt``. Review the diff: a
transcript is a spec, and recording only saves typing it."""

from __future__ import annotations

import asyncio
import io
import sys
import tempfile
from pathlib import Path

from adapters.console import ConsoleAdapter
from bot.app import App
from bot.config import load_settings


async def record(script: str) -> str:
    with tempfile.TemporaryDirectory() as state:
        (Path(state) / "none.toml").write_text("")
        settings = load_settings(environ={"INTERLINK_STATE_DIR": state, "INTERLINK_CONFIG": f"{state}/none.toml",
                                          "INTERLINK_SECRET": "transcript-recording-secret-0123456789"})
        out = io.StringIO()
        adapter = ConsoleAdapter(stdin=io.StringIO(""), stdout=out)
        app = App(settings, adapters=[adapter], http=False)
        await app.start()
        lines: list[str] = []
        try:
            for raw in script.splitlines():
                if raw.startswith("> "):
                    lines.append(raw)
                    start = out.tell()
                    await adapter.feed(raw[2:])
                    out.seek(start)
                    lines.extend(out.read().splitlines())
                    out.seek(0, io.SEEK_END)
                elif raw.startswith("#") or not raw.strip():
                    lines.append(raw)
        finally:
            await app.stop()
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    for name in sys.argv[1:]:
        path = Path(name)
        path.write_text(asyncio.run(record(path.read_text(encoding="utf-8"))), encoding="utf-8")
