"""The Matrix adapter's settings (``INTERLINK_MATRIX_*``), checked at start with one clear line each."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.config import ConfigError, Settings


@dataclass(frozen=True)
class MatrixConfig:
    homeserver: str
    user: str
    password: str | None = field(repr=False)
    access_token: str | None = field(repr=False)
    allowed_inviters: tuple[str, ...]
    organiser_power_level: int

    @classmethod
    def from_settings(cls, settings: Settings) -> MatrixConfig | None:
        source = settings.source
        homeserver = source.str("matrix_homeserver")
        if not homeserver:
            return None
        if not homeserver.startswith(("http://", "https://")):
            raise ConfigError(f"INTERLINK_MATRIX_HOMESERVER must be an http(s) URL (got {homeserver!r})")
        user = source.str("matrix_user")
        if not user:
            raise ConfigError("INTERLINK_MATRIX_USER is required when INTERLINK_MATRIX_HOMESERVER is set")
        password = source.str("matrix_password")
        token = source.str("matrix_access_token")
        if not password and not token:
            raise ConfigError("INTERLINK_MATRIX_PASSWORD or INTERLINK_MATRIX_ACCESS_TOKEN is required")
        inviters = source.list("matrix_allowed_inviters")
        for entry in inviters:
            if not (entry.startswith(":") or (entry.startswith("@") and ":" in entry)):
                raise ConfigError(
                    "INTERLINK_MATRIX_ALLOWED_INVITERS must list user ids (@name:server) or "
                    f"homeserver suffixes (:server) (got {entry!r})"
                )
        level = source.int("matrix_organiser_power_level", 50, minimum=0, maximum=2**53 - 1)
        return cls(homeserver.rstrip("/"), user, password or None, token or None, inviters, level)
