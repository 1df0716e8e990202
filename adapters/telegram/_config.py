"""The adapter's settings, read through the core's ``ConfigSource`` so every key follows one rule."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from bot.config import ConfigError, ConfigSource

DEFAULT_WEBHOOK_PATH = "/telegram/webhook"
_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:/\s*(\d*(?:\.\d+)?)\s*(s|sec|second|m|min|minute|h|hour)s?)?\s*$")
_UNITS = {"s": 1.0, "sec": 1.0, "second": 1.0, "m": 60.0, "min": 60.0, "minute": 60.0, "h": 3600.0,
          "hour": 3600.0}


def parse_rate(text: str) -> tuple[int, float]:
    """``"20/min"`` → (20, 60.0); ``"1/s"`` or ``"1"`` → (1, 1.0); ``"0.5"`` → (1, 2.0).

    A rate is kept as "at most N in any window of W seconds" because that is how Telegram counts.
    """
    match = _RATE.match(text)
    if not match:
        raise ValueError(text)
    count = float(match.group(1))
    window = float(match.group(2) or 1) * _UNITS[match.group(3) or "s"]
    if count <= 0 or window <= 0:
        raise ValueError(text)
    if count != int(count) or count < 1:
        return 1, window / count
    return int(count), window


@dataclass(frozen=True)
class TelegramConfig:
    token: str = field(repr=False)
    api_url: str = "https://api.telegram.org"
    webhook_url: str | None = None
    webhook_secret: str = field(default="", repr=False)
    per_chat: tuple[int, float] = (1, 1.0)
    per_group: tuple[int, float] = (20, 60.0)
    global_: tuple[int, float] = (30, 1.0)
    poll_timeout: int = 25
    flush_timeout: float = 30.0

    @property
    def webhook_path(self) -> str:
        return urlsplit(self.webhook_url or "").path or "/"

    @classmethod
    def from_source(cls, source: ConfigSource, core_secret: str) -> TelegramConfig | None:
        """None when no token is configured (the adapter stays off); ``ConfigError`` names a bad key."""
        token = source.str("telegram_token")
        if not token:
            return None
        if not _TOKEN.match(token):
            raise ConfigError(f"{source.env_name('telegram_token')} does not look like a bot token (123:ABC...)")
        api_url = (source.str("telegram_api_url") or "https://api.telegram.org").rstrip("/")
        if not api_url.startswith(("http://", "https://")):
            raise ConfigError(f"{source.env_name('telegram_api_url')} must be an http(s) URL (got {api_url!r})")
        webhook_url = source.str("telegram_webhook_url") or None
        if webhook_url and not webhook_url.startswith(("http://", "https://")):
            raise ConfigError(f"{source.env_name('telegram_webhook_url')} must be an http(s) URL")
        if webhook_url and urlsplit(webhook_url).path in ("", "/"):
            webhook_url = webhook_url.rstrip("/") + DEFAULT_WEBHOOK_PATH  # Telegram must post where we listen
        secret = source.str("telegram_webhook_secret") or ""
        if secret and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise ConfigError(
                f"{source.env_name('telegram_webhook_secret')} may hold only A-Z, a-z, 0-9, _ and - (1-256)"
            )
        if webhook_url and not secret:
            # Derived from the core secret, so a webhook is never unauthenticated even if nobody set one.
            secret = hmac.new(core_secret.encode(), b"telegram-webhook", hashlib.sha256).hexdigest()

        def rate(key: str, default: tuple[int, float]) -> tuple[int, float]:
            raw = source.str(key)
            if raw is None:
                return default
            try:
                return parse_rate(raw)
            except ValueError:
                raise ConfigError(
                    f"{source.env_name(key)} must be a rate such as 1/s, 20/min or 30 (got {raw!r})"
                ) from None

        return cls(
            token=token,
            api_url=api_url,
            webhook_url=webhook_url,
            webhook_secret=secret,
            per_chat=rate("telegram_rate_per_chat", (1, 1.0)),
            per_group=rate("telegram_rate_per_group", (20, 60.0)),
            global_=rate("telegram_rate_global", (30, 1.0)),
            poll_timeout=source.int("telegram_poll_timeout", 25, minimum=0, maximum=600),
            flush_timeout=source.float("telegram_flush_timeout", 30.0),
        )
