"""Matrix adapter (matrix-nio): rooms and DMs on any homeserver, encrypted rooms included.

matrix-nio (with olm, peewee, jsonschema, pycryptodome: ~23 MiB and ~0.5 s to import) is loaded only
when a homeserver is configured (``from_settings``, our ``interlink.adapters`` entry point) or when
``MatrixAdapter`` is used, so a bot that does not speak Matrix never pays for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adapters.matrix._config import MatrixConfig

if TYPE_CHECKING:
    from adapters.matrix._adapter import MatrixAdapter
    from bot.config import Settings

__all__ = ["MatrixAdapter", "MatrixConfig", "from_settings"]


def from_settings(settings: Settings) -> MatrixAdapter | None:
    """The adapter when a homeserver is configured, else None; ``ConfigError`` names a bad key."""
    config = MatrixConfig.from_settings(settings)
    if config is None:
        return None
    adapter: type[MatrixAdapter] = __getattr__("MatrixAdapter")
    return adapter(config, settings)


def __getattr__(name: str) -> Any:
    if name != "MatrixAdapter":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        from adapters.matrix._adapter import MatrixAdapter
    except ImportError as exc:
        if exc.name is None or not exc.name.startswith("nio"):
            raise
        raise ImportError("the Matrix adapter needs matrix-nio: pip install 'interlink-bot[matrix]'") from exc
    globals()[name] = MatrixAdapter
    return MatrixAdapter
