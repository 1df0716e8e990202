"""Matrix adapter (matrix-nio): rooms and DMs on any homeserver, encrypted rooms included."""

try:
    from adapters.matrix._adapter import MatrixAdapter
    from adapters.matrix._config import MatrixConfig
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    if exc.name is None or not exc.name.startswith("nio"):
        raise
    raise ImportError("the Matrix adapter needs matrix-nio: pip install 'interlink-bot[matrix]'") from exc

__all__ = ["MatrixAdapter", "MatrixConfig"]
