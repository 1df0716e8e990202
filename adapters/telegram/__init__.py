"""Telegram adapter on python-telegram-bot: long polling or webhook, inline keyboards, own rate control."""

from adapters.telegram._adapter import TelegramAdapter
from adapters.telegram._config import TelegramConfig
from adapters.telegram._send_queue import RateLimits, SendQueue

__all__ = ["RateLimits", "SendQueue", "TelegramAdapter", "TelegramConfig"]
