"""The console as a group chat: every line is a message, ``@name text`` speaks as ``name``.

Works on a TTY and on a pipe, so scripts and tests can play a whole group. Buttons print as numbered
options (``[1] Library (0)``); typing ``[1]`` presses button 1 of the latest message that had buttons.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO

from bot.adapter import Adapter, Capabilities, CoreAPI
from bot.errors import StoreUnavailable
from bot.events import (
    Button,
    ButtonPress,
    ChatRef,
    Command,
    Event,
    File,
    Location,
    Notice,
    Outgoing,
    Photo,
    Reply,
    Text,
    Update,
    UserRef,
)
from bot.geo import Point
from bot.i18n import _, using_locale
from bot.photos import too_big

log = logging.getLogger(__name__)
DEFAULT_USER = "you"
_SPEAKER = re.compile(r"@([\w.-]{1,64})\s+(.*)", re.DOTALL)
_COMMAND = re.compile(r"/([A-Za-z0-9_]{1,64})(?:@\S+)?(?:\s+(.*))?", re.DOTALL)
_PRESS = re.compile(r"\[(\d{1,3})\]")
RETRIES = (0.5, 1.0, 2.0)


def parse_line(line: str, default_user: str = DEFAULT_USER) -> tuple[str, Event] | None:
    """``@ann /vote 1 2`` → (``ann``, Command('vote', '1 2')). Returns None for a blank line."""
    line = line.rstrip("\r\n")
    user = default_user
    match = _SPEAKER.fullmatch(line.strip())
    if match:
        user, line = match.group(1), match.group(2)
    text = line.strip()
    if not text:
        return None
    if (press := _PRESS.fullmatch(text)) is not None:
        return user, ButtonPress(press.group(1))
    if (command := _COMMAND.fullmatch(text)) is not None:
        return user, Command(command.group(1).lower(), (command.group(2) or "").strip())
    return user, Text(text)


class ConsoleAdapter(Adapter):
    platform = "console"
    capabilities = Capabilities(buttons=True, edits=False, native_polls=False, markup=False, max_text=100_000)

    def __init__(
        self,
        stdin: IO[str] | None = None,
        stdout: IO[str] | None = None,
        chat_title: str = "Console",
        chat_id: str = "console",
    ) -> None:
        self._stdin = stdin or sys.stdin
        self._stdout = stdout or sys.stdout
        self.chat = ChatRef(self.platform, chat_id, title=chat_title)
        self._session = uuid.uuid4().hex[:12]
        self._counter = 0
        self._buttons: list[Button] = []
        self._sent = 0
        self._task: asyncio.Task[None] | None = None
        self._done = asyncio.Event()
        self._readline: Callable[[], str] = self._stdin.readline

    async def start(self, core: CoreAPI) -> None:
        self._core = core
        if self._stdin.isatty():
            with using_locale(core.settings.default_locale):
                self._print(
                    _(
                        "You are in the console chat. Send /help to begin; write “@name message” to speak "
                        "as someone else in the same group; press Ctrl-D to leave."
                    )
                )
        self._task = asyncio.create_task(self._loop(), name="console")

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._done.set()

    async def wait_closed(self) -> None:
        await self._done.wait()

    async def _loop(self) -> None:
        lines: asyncio.Queue[str] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        def read() -> None:
            # A daemon thread, not asyncio.to_thread: a blocked readline() must not keep the process
            # alive after Ctrl-C or SIGTERM.
            while True:
                try:
                    line = self._readline()
                except (OSError, ValueError):
                    line = ""
                try:
                    loop.call_soon_threadsafe(lines.put_nowait, line)
                except RuntimeError:  # the loop has closed: we are shutting down
                    return
                if line == "":
                    return

        threading.Thread(target=read, name="console-stdin", daemon=True).start()
        try:
            while (line := await lines.get()) != "":
                await self.feed(line)
        finally:
            self._done.set()

    async def feed(self, line: str) -> None:
        """Handle one typed line (public so tests can drive the console without a pipe)."""
        parsed = parse_line(line)
        if parsed is None:
            return
        user, event = parsed
        if isinstance(event, Text) and (picture := _picture_at(event.text)) is not None:
            event = picture
        if isinstance(event, ButtonPress):
            index = int(event.payload) - 1
            if not 0 <= index < len(self._buttons):
                self._print(_("There is no option [{number}] to choose.").format(number=event.payload))
                return
            event = ButtonPress(self._buttons[index].payload)
        self._counter += 1
        update = Update(
            update_id=f"{self._session}:{self._counter}",
            chat=self.chat,
            user=UserRef(self.platform, user, user),
            event=event,
        )
        for delay in (*RETRIES, None):
            try:
                await self._core.handle(update)
                return
            except StoreUnavailable as exc:
                log.warning("store unavailable: %s", exc)
                if delay is None:
                    self._print(_("The database cannot be reached right now, so nothing was done. Please try again."))
                    return
                await asyncio.sleep(delay)
            except Exception:
                log.exception("update failed")
                self._print(_("Something went wrong on our side; nothing was changed. Please try again."))
                return

    def direct_chat(self, user_id: str) -> ChatRef:
        """Everyone shares this terminal: a private message is printed marked with its reader."""
        return ChatRef(self.platform, f"@{user_id}", title=user_id, is_private=True)

    async def send(self, chat: ChatRef, message: Outgoing) -> str | None:
        to = chat.chat_id[1:] if chat.chat_id.startswith("@") else None
        if isinstance(message, Reply):
            lines = message.text.splitlines() or [""]
            links = [b for b in message.buttons if b.url is not None]
            buttons = [b for b in message.buttons if b.url is None]
            lines.extend(f"{b.label}: {b.url}" for b in links)
            if buttons:
                self._buttons = buttons
                lines.append("  ".join(f"[{i}] {b.label}" for i, b in enumerate(buttons, start=1)))
            self._print("\n".join(lines), to)
            self._sent += 1
            return str(self._sent)
        if isinstance(message, Notice):
            self._print(message.text, to)
        elif isinstance(message, File):
            saved = self._save(message)
            self._print(f"[{message.filename}, {len(message.content)} bytes: {saved}] {message.caption}".rstrip(), to)
        elif isinstance(message, Location):  # a terminal has no map: the point and a link to one
            point = Point(message.latitude, message.longitude)
            self._print(f"[location: {message.text()}] {point.map_link}", to)
        return None

    def _save(self, file: File) -> Path:
        """A terminal cannot show a file: it is written under the state directory, and its path printed."""
        folder = self._core.settings.state_dir / "files"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / (Path(file.filename).name or "file")
        path.write_bytes(file.content)
        return path

    def _print(self, text: str, to: str | None = None) -> None:
        lines = text.splitlines() or [""]
        head = "bot: " if to is None else f"bot → {to}: "
        out = head + lines[0] + "".join("\n     " + line for line in lines[1:])
        print(out, file=self._stdout, flush=True)


_PICTURES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}


def _picture_at(text: str) -> Photo | None:
    """A terminal cannot attach a photo: typing the path of a picture file sends that picture."""
    path = Path(text.strip()).expanduser()
    mime = _PICTURES.get(path.suffix.lower())
    if mime is None or not path.is_file():
        return None
    size = path.stat().st_size
    return Photo(b"", mime, "", size) if too_big(size) else Photo(path.read_bytes(), mime, "", size)
