"""Configuration: an optional ``interlink.toml``, every key overridable by an ``INTERLINK_*`` variable.

Keys are flat and lower-case in the file (``http_port = 8080``) and upper-case with the ``INTERLINK_``
prefix in the environment (``INTERLINK_HTTP_PORT``). Adapters read their own keys through the same
``ConfigSource`` so every key follows one rule. Bad values fail at start with one line naming the key.
"""

from __future__ import annotations

import builtins
import difflib
import os
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.i18n import SUPPORTED_LOCALES

ENV_PREFIX = "INTERLINK_"


class ConfigError(Exception):
    """A configuration value is missing or wrong; the message names the key and is shown as is."""


class ConfigSource:
    """Reads one key from the environment first, then from the file."""

    def __init__(self, file_values: Mapping[str, object], environ: Mapping[str, str]) -> None:
        self._file = {k.lower(): v for k, v in file_values.items()}
        self._env = environ
        self._asked: set[builtins.str] = set()

    def check_unknown(self) -> None:
        """Name a key in the file that nothing read (a typo would otherwise be ignored in silence), with the
        closest key that is read. Call once the core and every adapter have read their settings."""
        for key in sorted(set(self._file) - self._asked):
            close = difflib.get_close_matches(key, sorted(self._asked), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"interlink.toml: unknown key {key!r}{hint}")

    @staticmethod
    def env_name(key: str) -> str:
        return ENV_PREFIX + key.upper()

    def raw(self, key: str) -> object | None:
        self._asked.add(key)
        env = self._env.get(self.env_name(key))
        if env is not None and env != "":
            return env
        return self._file.get(key)

    def str(self, key: str, default: str | None = None) -> str | None:
        value = self.raw(key)
        return default if value is None else str(value)

    def int(self, key: builtins.str, default: int, minimum: int | None = None, maximum: int | None = None) -> int:
        value = self.raw(key)
        if value is None:
            return default
        try:
            number = int(str(value))
        except ValueError:
            raise ConfigError(f"{self.env_name(key)} must be a whole number (got {value!r})") from None
        if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
            raise ConfigError(f"{self.env_name(key)} must be between {minimum} and {maximum} (got {number})")
        return number

    def float(self, key: builtins.str, default: float, minimum: float = 0.0) -> float:
        value = self.raw(key)
        if value is None:
            return default
        try:
            number = float(str(value))
        except ValueError:
            raise ConfigError(f"{self.env_name(key)} must be a number (got {value!r})") from None
        if number < minimum:
            raise ConfigError(f"{self.env_name(key)} must be at least {minimum} (got {number})")
        return number

    def list(self, key: builtins.str) -> tuple[builtins.str, ...]:
        value = self.raw(key)
        if value is None:
            return ()
        if isinstance(value, list):
            return tuple(str(v).strip() for v in value if str(v).strip())
        return tuple(part.strip() for part in str(value).split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    """The core's settings; adapters keep theirs and read them from ``source``."""

    database_url: str = field(repr=False)  # may hold a password
    pa_database_url: str = field(repr=False)
    http_host: str
    http_port: int
    public_url: str  # where people reach the HTTP side (calendar feeds); no trailing slash
    default_locale: str
    timezone: str
    secret: str = field(repr=False)
    state_dir: Path
    source: ConfigSource = field(repr=False)
    secret_configured: bool = True

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def check_shared_secret(self) -> None:
        """Several workers on one PostgreSQL must share the secret: buttons signed on one are checked
        on another, and anonymous ballots are keyed with it. A generated one is this host's alone."""
        if not self.secret_configured and self.database_url.startswith("postgres"):
            raise ConfigError(
                "INTERLINK_SECRET must be set when the database is PostgreSQL: every worker signs buttons "
                "and keys anonymous ballots with it (generate one with: openssl rand -base64 32)"
            )


def _secret(source: ConfigSource, state_dir: Path) -> str:
    """The HMAC key for button payloads: from config, else generated once and kept in the state dir."""
    configured = source.str("secret")
    if configured:
        if len(configured) < 16:
            raise ConfigError(f"{source.env_name('secret')} must be at least 16 characters long")
        return configured
    path = state_dir / "secret"
    if path.exists():
        return path.read_text().strip()
    state_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def _secret_if_any(source: ConfigSource, state_dir: Path) -> str:
    """The secret as configured or kept, without creating one (for commands that only read)."""
    path = state_dir / "secret"
    if source.str("secret") or path.exists():
        return _secret(source, state_dir)
    return secrets.token_urlsafe(32)


def _check_database_url(key: str, url: str) -> None:
    scheme = url.partition("://")[0].partition("+")[0].lower() if "://" in url else ""
    if scheme not in ("sqlite", "postgresql"):
        raise ConfigError(f"{ENV_PREFIX}{key.upper()} must be a sqlite:/// or postgresql:// URL (got "
                          f"{url.split('@')[-1]!r})")


def check_log_level(value: str) -> str:
    """INTERLINK_LOG_LEVEL as logging wants it, or one line naming the key."""
    level = value.strip().upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ConfigError(f"INTERLINK_LOG_LEVEL must be one of debug, info, warning, error, critical (got {value!r})")
    return level


def load_settings(
    config_file: Path | None = None, environ: Mapping[str, str] | None = None, persist_secret: bool = True
) -> Settings:
    """Read the file (``INTERLINK_CONFIG`` or ./interlink.toml, if present) and the environment."""
    environ = os.environ if environ is None else environ
    path = config_file or Path(environ.get("INTERLINK_CONFIG", "interlink.toml"))
    file_values: dict[str, object] = {}
    if path.exists():
        try:
            file_values = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    elif config_file is not None or "INTERLINK_CONFIG" in environ:
        raise ConfigError(f"INTERLINK_CONFIG names {path}, which does not exist")
    source = ConfigSource(file_values, environ)

    state_dir = Path(source.str("state_dir", "var") or "var")
    database_url = source.str("database_url") or f"sqlite:///{state_dir / 'interlink.db'}"
    _check_database_url("database_url", database_url)
    pa_database_url = source.str("pa_database_url") or database_url
    _check_database_url("pa_database_url", pa_database_url)

    locale = (source.str("default_locale", "en") or "en").lower()
    if locale not in SUPPORTED_LOCALES:
        raise ConfigError(
            f"INTERLINK_DEFAULT_LOCALE must be one of {', '.join(SUPPORTED_LOCALES)} (got {locale!r})"
        )
    timezone = source.str("timezone", "Europe/Rome") or "Europe/Rome"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"INTERLINK_TIMEZONE is not a known time zone (got {timezone!r})") from None

    http_host = source.str("http_host", "127.0.0.1") or "127.0.0.1"
    http_port = source.int("http_port", 8080, minimum=0, maximum=65535)
    public_url = (source.str("public_url") or f"http://{http_host}:{http_port}").rstrip("/")
    if not public_url.startswith(("http://", "https://")):
        raise ConfigError(f"INTERLINK_PUBLIC_URL must start with http:// or https:// (got {public_url!r})")
    return Settings(
        database_url=database_url,
        pa_database_url=pa_database_url,
        http_host=http_host,
        http_port=http_port,
        public_url=public_url,
        default_locale=locale,
        timezone=timezone,
        secret=_secret(source, state_dir) if persist_secret else _secret_if_any(source, state_dir),
        state_dir=state_dir,
        source=source,
        secret_configured=bool(source.str("secret")),
    )
