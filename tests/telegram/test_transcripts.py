"""Every Interlinker's chat transcripts, replayed unchanged on Telegram: python-telegram-bot (unmodified)
and the real core against our local Bot API server (``tests/botapi``).

The transcripts are the ones ``tests/test_transcripts.py`` replays on the console (its ``parse`` reads
them here too), so one story is checked on both networks. Each transcript gets one app, one fake Bot API
and one supergroup titled "Console" (the console's chat title, which /mydata shows). Its members are
created on demand from the ``@name`` of each input line: ``first_name`` is the name (the console's display
name) and ``language_code`` is None, as the console sends none, so the bot picks the same language
(``Dispatcher._locale``: the member's chosen language, else the initiative's). The settings the console
fixture changes from the defaults (the time zone) are the same here; the database is SQLite (the
console replay covers PostgreSQL).

Each input line becomes what a Telegram user does in that group:

- a command (``/poll ...``) is sent with our bot's name after the command word (``/poll@interlink_test_bot
  ...``): with privacy mode on (the documented deployment) that is how a group addresses the bot. A
  command already naming a bot (``/x@other``) is sent as written;
- plain text (an answer in a dialog) is sent as a reply to the bot's latest message in the group: with
  privacy mode on, Telegram shows the bot nothing else a member writes. Before the bot has written
  anything, the text reaches nobody, and the step expects no answer;
- ``[N]`` presses the N-th inline button of the latest message the bot sent with buttons, in its keyboard
  as it is now (edits keep the buttons in place; the console numbers that message's buttons the same
  way).

After each input the step waits until it is over, deterministically (with a timeout, then compares what
came, so a failure is a readable diff): the adapter has handled the update (its Notices for a typed line are
then accepted by Telegram), a press's callback query is answered, and the core's sender has no reply left
in the store (a reply's row goes only once Telegram accepted it), so a missing *or an extra* message fails
the step that caused it. What came is printed in the console's format and compared, per step, with the
transcript exactly as the console test compares it (with its ``matches`` when it has one: there ``{*}``
stands for any text, such as a time relative to now or a random receipt).

Normalisations (each one a rendering only Telegram has):

- messages are compared as their plain text: the adapter sends HTML with everything escaped, the server
  keeps what users see (``Sent.text``), so ``<b>`` and ``&`` read as typed;
- the console's extra button line ``[1] label  [2] label ...`` is rebuilt from the message's inline
  keyboard (one button per row on Telegram), in order;
- a Notice answering a button press is the press's ``answerCallbackQuery`` text (Telegram's pop-up), not
  a chat message; the console prints Notices before the replies of the same input, and so does this
  test. Telegram's pop-up holds 200 characters: when the adapter had to shorten the Notice (the answer
  is 200 characters ending in "…") and the expected Notice is longer than that, the pop-up passes if
  what it kept (without the "…") begins a text the expected Notice matches, ``{*}`` included; each
  ``{*}`` the pop-up reaches must end before the cut, followed by at least 8 characters of the text
  after it (``with_popup``, ``prefix_matches``). A Notice answering a typed line is a ``sendMessage``, compared as is;
- edits (``editMessageText``, ``editMessageReplyMarkup``) are not compared: the console does not print
  them. Native polls (``sendPoll``) are not compared either: the console has none (``native_polls`` is
  off) and shows the poll's text message, which is compared. A File is a ``sendDocument``, printed as the
  console prints it: ``[name, N bytes] caption``.

A line the adapter drops without handling it (a command addressed to another bot: the console answers
it, Telegram rightly does not) waits ``STEP_WITHIN`` and then fails its step with the diff.

Not normalised, since no transcript needs it: a reply over 4096 characters (Telegram splits it in several
messages) and a button label over 64 characters (Telegram shortens it); a transcript that gets there
fails here, visibly.

Steps skipped on Telegram, each by its rule:

- pressing ``[N]`` when the latest keyboard has no button N (or there is no keyboard): Telegram offers no
  such button to press. The console answers it itself, before the core sees anything ("There is no
  option [N] to choose."): the step is skipped after checking that its expected output is exactly that
  line, in one of our languages. Any other expected output for such a press fails the step: the
  console's remembered buttons and Telegram's keyboard then differ.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from adapters.console import parse_line
from adapters.telegram import TelegramAdapter
from adapters.telegram._answers import MAX_ANSWER
from adapters.telegram._render import truncate
from bot.app import App
from bot.config import load_settings
from bot.events import ButtonPress, ChatRef, Command, Text
from bot.i18n import SUPPORTED_LOCALES, _, using_locale
from storage.models import PendingReply
from tests import test_transcripts as console_replay
from tests.botapi import Chat, FakeBotAPI, Sent, User
from tests.telegram.harness import Harness, environment
from tests.test_transcripts import TRANSCRIPTS, parse

BOT = "@interlink_test_bot"
GROUP_ID = -100_555_000
GROUP_TITLE = "Console"  # the console adapter's chat title
CONSOLE_SETTINGS = {"INTERLINK_TIMEZONE": "Europe/Rome"}  # what tests/conftest.py's make_settings sets
CHAT_MESSAGES = frozenset({"sendMessage", "sendDocument"})  # what the console prints; edits and polls not
ANCHOR = 8  # characters of a transcript's text after a {*} that must show in a shortened pop-up
STEP_WITHIN = 10.0  # seconds a step may take before what came so far is compared
_SPEAKER = re.compile(r"@([\w.-]{1,64})\s+(.*)", re.DOTALL)  # the console's "@name text"
_COMMAND_WORD = re.compile(r"/[A-Za-z0-9_]{1,64}(?=\s|$)")  # a command not addressed to any bot yet


def console(text: str) -> str:
    """``text`` as the console prints it (``ConsoleAdapter._print``)."""
    lines = text.splitlines() or [""]
    return "bot: " + lines[0] + "".join("\n     " + line for line in lines[1:]) + "\n"


def data_of(markup: Any) -> list[str]:
    """The callback data of an inline keyboard (as the server stored it), in order; link buttons (a deep
    link into a private chat) are not pressed here, and the console, which has no such links, numbers
    only the others."""
    if not isinstance(markup, dict):
        return []
    return [str(button["callback_data"]) for row in markup.get("inline_keyboard", []) for button in row
            if "callback_data" in button]


def shown(sent: Sent) -> str:
    """One message the bot sent, as the console would have printed it."""
    if sent.method == "sendDocument":
        content = sent.content or b""
        return console(f"[{sent.filename}, {len(content)} bytes] {sent.text}".rstrip())
    lines = sent.text.splitlines() or [""]
    labels = [label for row in sent.buttons for label, data in row if not data.startswith("url:")]
    if labels:
        lines.append("  ".join(f"[{i}] {label}" for i, label in enumerate(labels, start=1)))
    return console("\n".join(lines))


def same(got: str, expected: str) -> bool:
    """The console replay's own comparison (``{*}`` stands for any text), equality if it has none."""
    matches: Callable[[str, str], bool] | None = getattr(console_replay, "matches", None)
    return matches(got, expected) if matches is not None else got == expected


def prefix_matches(shown: str, segments: list[str]) -> bool:
    """Whether ``shown`` begins a text that the expected text matches, given as its literal
    ``segments`` around each ``{*}`` (any text, as in the console's comparison). A ``{*}`` that ``shown``
    reaches must end in it, before the next literal's first ``ANCHOR`` characters (all of them if fewer),
    unless it ends the text: else any ``shown`` would pass once it reaches a ``{*}``."""
    first, rest = segments[0], segments[1:]
    if len(shown) <= len(first):
        return first.startswith(shown)
    if not shown.startswith(first) or not rest:
        return False
    tail = shown[len(first):]
    if rest == [""]:
        return True
    anchor = rest[0][:ANCHOR]
    return any(prefix_matches(tail[taken:], rest) for taken in range(len(tail) - len(anchor) + 1)
               if tail.startswith(anchor, taken))


def with_popup(expected: str, popup: str) -> str:
    """``expected`` with its first message (the Notice) as Telegram's pop-up could show it: the pop-up's
    own text when the adapter shortened the Notice (``MAX_ANSWER`` characters ending in "…") and what
    it kept begins a text the expected Notice matches; ``expected`` unchanged otherwise."""
    if len(popup) != MAX_ANSWER or not popup.endswith("…"):
        return expected
    messages = [m for m in re.split(r"(?m)^(?=bot: )", expected) if m]
    if not messages:
        return expected
    notice = "\n".join(line[5:] for line in messages[0].splitlines())  # "bot: " and "     " are 5 wide
    if notice == truncate(notice, MAX_ANSWER) or not prefix_matches(popup[:-1], notice.split("{*}")):
        return expected
    return console(popup) + "".join(messages[1:])


def no_such_option(number: str) -> set[str]:
    """The console adapter's own answer to a press of a button that does not exist, in every language."""
    answers = set()
    for locale in SUPPORTED_LOCALES:
        with using_locale(locale):
            answers.add(console(_("There is no option [{number}] to choose.").format(number=number)))
    return answers


async def until(predicate: Callable[[], object], within: float) -> bool:
    """Poll ``predicate`` (the fake server's ``wait_for`` re-checks only after a request, and the adapter's
    long poll may hold its next one for a second). False when ``within`` passed."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.005)
    return True


@dataclass
class TelegramChat:
    """Plays a transcript's group on Telegram: ``await chat.say("@ann /poll ...")`` returns what the bot
    showed in answer, in the console's format, or None when the step cannot exist on Telegram."""

    harness: Harness
    group: Chat
    members: dict[str, User] = field(default_factory=dict)
    popup: str | None = None  # the text of the last step's answerCallbackQuery, if any
    private_first: bool = False  # each member opens a private chat with the bot before speaking in the group
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(7001))
    _started: set[str] = field(default_factory=set)

    @property
    def api(self) -> FakeBotAPI:
        return self.harness.api

    def member(self, name: str) -> User:
        if name not in self.members:
            user = self.api.user(next(self._ids), name, None)
            self.members[name] = user
            self.group.members.add(user.id)
        return self.members[name]

    def _bot_messages(self) -> list[Sent]:
        return [s for s in self.api.sent_to(self.group.id) if s.method in CHAT_MESSAGES]

    async def say(self, line: str) -> str | None:
        self.popup = None
        parsed = parse_line(line)
        if parsed is None:
            return ""
        name, event = parsed
        user = self.member(name)
        if self.private_first and name not in self._started:
            self._started.add(name)
            handled_before = self.harness.adapter.handled
            started = self.api.send_text(user, self.api.private_chat(user), "/start")
            assert started is not None
            await self._settle(started, handled_before, None)
        speaker = _SPEAKER.fullmatch(line.strip())
        typed = (speaker.group(2) if speaker else line).strip()
        sent_before, answered_before = len(self.api.sent), len(self.api.answered)
        handled_before = self.harness.adapter.handled
        update_id: int | None
        if isinstance(event, ButtonPress):
            pressed = self._press(user, event.payload)
            if pressed is None:
                return None
            update_id = pressed
        elif isinstance(event, Command):
            update_id = self.api.send_text(user, self.group, _COMMAND_WORD.sub(lambda m: m.group(0) + BOT, typed, 1))
        else:
            assert isinstance(event, Text)
            latest = self._bot_messages()
            reply_to = latest[-1].message_id if latest else None
            update_id = self.api.send_text(user, self.group, typed, reply_to=reply_to)
        if update_id is not None:
            await self._settle(update_id, handled_before, answered_before if isinstance(event, ButtonPress) else None)
        out = []
        if isinstance(event, ButtonPress) and len(self.api.answered) > answered_before:
            self.popup = str(list(self.api.answered.values())[answered_before].get("text") or "") or None
            if self.popup is not None:
                out.append(console(self.popup))
        out += [shown(s) for s in self.api.sent[sent_before:]
                if s.method in CHAT_MESSAGES and s.chat_id == self.group.id]  # private ones: see _PRIVATE
        return "".join(out)

    def _press(self, user: User, number: str) -> int | None:
        """Press button ``number`` of the latest message sent with buttons; None if there is none."""
        with_buttons = [s for s in self._bot_messages() if s.buttons]
        if not with_buttons:
            return None
        message_id = with_buttons[-1].message_id
        payloads = data_of(self.api.current(self.group.id, message_id).get("reply_markup"))
        index = int(number) - 1
        if not 0 <= index < len(payloads):
            return None
        return self.api.press(user, self.group, message_id, payloads[index])

    async def _settle(self, update_id: int, handled_before: int, answered_before: int | None) -> None:
        """Wait until everything the update caused reached Telegram (see the module's docstring)."""
        adapter, app = self.harness.adapter, self.harness.app
        if not await until(lambda: adapter.handled > handled_before, STEP_WITHIN):
            return
        if answered_before is not None and not await until(lambda: len(self.api.answered) > answered_before,
                                                           STEP_WITHIN):
            return
        chat = ChatRef("telegram", str(self.group.id))
        await app.services.sender.wait_sent(chat, f"telegram:{update_id}", within=STEP_WITHIN)
        deadline = time.monotonic() + STEP_WITHIN
        while time.monotonic() < deadline:  # nothing left for any chat (a private message, say)
            async with app.sessions() as session:
                if not await session.scalar(select(func.count()).select_from(PendingReply)):
                    return
            await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def telegram_chat(state_dir: Path) -> AsyncIterator[TelegramChat]:
    """``tests.telegram.harness.start_harness`` with the console fixture's settings."""
    async with FakeBotAPI() as api:
        settings = load_settings(environ={**environment(api, state_dir), **CONSOLE_SETTINGS})
        adapter = TelegramAdapter.from_settings(settings)
        assert adapter is not None
        app = App(settings, adapters=[adapter], http=False)
        await app.start()
        try:
            group = api.group(GROUP_ID, GROUP_TITLE, [])
            yield TelegramChat(Harness(api, app, adapter), group)
        finally:
            await app.stop()


# Private messages: the console prints them as ``bot → name: …``; they are not compared here (the group is).
# In most transcripts nobody has started the bot in private, so on Telegram they are held for later
# (tests/telegram/test_direct.py covers that). Stories that run on private messages (a freed place offered
# privately, a move told to those coming) are replayed with every member having opened a private chat first,
# as the console assumes, so the group sees exactly what the console's group sees.
_PRIVATE = re.compile(r"^bot → [^\n]*(?:\n {5}[^\n]*)*\n?", re.MULTILINE)
_PRIVATE_FIRST = {"meeting", "food_bank"}
# A file: the console prints where it saved it, Telegram shows it in the chat.
_SAVED_AT = re.compile(r"(\[[^\]\n]+?, (?:\{\*\}|\d+) bytes): [^\]\n]*\]")


def _telegram_expects(expected: str) -> str:
    return _SAVED_AT.sub(r"\1]", _PRIVATE.sub("", expected))


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=lambda p: f"{p.parent.parent.name}/{p.stem}")
async def test_transcript_on_telegram(path: Path, tmp_path: Path) -> None:
    async with telegram_chat(tmp_path) as chat:
        chat.private_first = path.stem.split(".")[0] in _PRIVATE_FIRST
        for number, (line, console_expects) in enumerate(parse(path), start=1):
            expected = _telegram_expects(console_expects)
            got = await chat.say(line)
            if got is None:  # a press Telegram cannot make: the console itself answered it
                parsed = parse_line(line)
                assert parsed is not None and isinstance(parsed[1], ButtonPress)
                assert expected in no_such_option(parsed[1].payload), (
                    f"{path.name}, step {number}: > {line}: Telegram has no such button, yet the console "
                    "expects more than its own “There is no option” answer")
                continue
            if chat.popup is not None:  # Telegram's pop-up holds MAX_ANSWER characters
                expected = with_popup(expected, chat.popup)
            if not same(got, expected):
                assert got == expected, f"{path.name}, step {number}: > {line}"
