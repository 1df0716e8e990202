"""Telegram adapter on python-telegram-bot: long polling or webhook, inline keyboards, own rate control.

python-telegram-bot (~20 MiB and ~0.3 s to import on its own) is loaded only when a token is configured
(``from_settings``, our ``interlink.adapters`` entry point) or when a name below other than
``TelegramConfig`` is used, so a bot that does not speak Telegram never pays for it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from adapters.telegram._config import TelegramConfig

if TYPE_CHECKING:
    from adapters.telegram._adapter import TelegramAdapter
    from adapters.telegram._send_queue import RateLimits, SendQueue
    from bot.config import Settings

__all__ = ["RateLimits", "SendQueue", "TelegramAdapter", "TelegramConfig", "from_settings"]
_LAZY = {"TelegramAdapter": "_adapter", "RateLimits": "_send_queue", "SendQueue": "_send_queue"}


def from_settings(settings: Settings) -> TelegramAdapter | None:
    """The adapter when a token is configured, else None; ``ConfigError`` names a bad key."""
    config = TelegramConfig.from_source(settings.source, settings.secret)
    if config is None:
        return None
    adapter: type[TelegramAdapter] = __getattr__("TelegramAdapter")
    return adapter(config)


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    globals()[name] = value
    return value
