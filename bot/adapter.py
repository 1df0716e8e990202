"""The contract between the core and a chat network.

An adapter turns its network's updates into ``Update``s and calls ``CoreAPI.handle``; the core answers by
calling ``send`` with platform-neutral messages. ``capabilities`` lets Interlinkers degrade gracefully.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from bot.events import ChatRef, Outgoing, Update, UserRef
from bot.roles import Role

if TYPE_CHECKING:
    from aiohttp import web

    from bot.config import Settings
    from storage.state import AdapterState


_delivery: ContextVar[str | None] = ContextVar("interlink_delivery", default=None)


def delivery_id() -> str | None:
    """A stable id for the message ``send`` is showing: the same update (or job) and the same position
    among its messages give the same id, so an adapter can make a retried send idempotent (Matrix
    transaction ids). None when a message is sent outside the core's delivery."""
    return _delivery.get()


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a network can show. The core and Interlinkers read it; they never test the platform name."""

    buttons: bool = False
    edits: bool = False
    native_polls: bool = False
    markup: bool = False
    max_text: int = 4096


@dataclass(frozen=True, slots=True)
class HandleResult:
    """What became of one update: ``duplicate`` means it had been handled before and was skipped."""

    duplicate: bool = False


class CoreAPI(Protocol):
    """What an adapter may use of the core."""

    settings: Settings
    state: AdapterState

    async def handle(self, update: Update) -> HandleResult:
        """Process one update in its own transaction, exactly once per ``update.update_id``; replies are
        kept in the store with it and passed to the adapter's ``send`` after commit, by the sender."""
        ...

    def web_app(self) -> web.Application:
        """The shared aiohttp application, for adapters that receive webhooks. Add routes before start."""
        ...

    def command_menu(self, locale: str) -> list[tuple[str, str]]:
        """(command, help) for every command a member may use, in ``locale``: for a network's menu."""
        ...

    async def hold(self, lease: str, body: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run ``body`` whenever this worker holds ``lease`` (one worker at a time, taken over within
        seconds when its holder dies): for what is single by nature, like long polling or a sync loop."""
        ...


class Adapter(abc.ABC):
    """Base class for chat-network adapters."""

    platform: str
    capabilities: Capabilities = Capabilities()
    # ``CoreAPI.handle`` returns once this update's replies were sent (a console answers in the same
    # breath); False: it returns at commit and the sender delivers them (Telegram, under rate limits).
    waits_for_replies: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> Adapter | None:
        """The adapter as configured, or None when its settings are absent (so it does not start).
        Raise ``ConfigError`` naming the key when a setting is present but wrong."""
        return None

    @abc.abstractmethod
    async def start(self, core: CoreAPI) -> None:
        """Connect and begin feeding updates to ``core.handle``. Returns once running (not when done)."""

    async def stop_receiving(self) -> None:  # noqa: B027 (optional hook, most adapters need none)
        """Stop taking new updates (the core then sends what is pending before ``stop``)."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Stop receiving, flush what is queued for sending, keep state for the next start."""

    @abc.abstractmethod
    async def send(self, chat: ChatRef, message: Outgoing) -> str | None:
        """Show ``message`` in ``chat``; return the platform's message id when there is one. Return only
        once the network accepted it (the core forgets it then); raise if it was not."""

    def direct_chat(self, user_id: str) -> ChatRef | None:
        """The chat in which to write to ``user_id`` alone before they ever wrote to the bot in private,
        when the network lets a bot open one (Matrix: a direct room, made on first send); None when
        only they can (Telegram: until they start the bot, messages for them are held)."""
        return None

    def deep_link(self, payload: str) -> str | None:
        """A link that opens a private chat with the bot and sends it ``/start <payload>``, if the
        network has such links (Telegram's ``t.me/<bot>?start=``)."""
        return None

    def members(self, chat: ChatRef) -> list[UserRef] | None:
        """Who is in ``chat`` now, when the network tells the bot without a request (a Matrix room's
        member list from the sync); None when it does not (a Telegram group: only members seen)."""
        return None

    async def platform_role(self, chat: ChatRef, user: UserRef) -> Role | None:
        """A role the network itself grants (chat administrator, room power level), if any."""
        return None

    async def wait_closed(self) -> None:
        """Return when the adapter ends by itself (the console at end of input); most never do."""
        await asyncio.Event().wait()
