"""Our own local Telegram Bot API server (see ``_server``), for adapter tests and the benchmark."""

from ._html import EntityError, parse_html
from ._server import ANONYMOUS_ADMIN_ID, Chat, FakeBotAPI, Limits, Sent, User

__all__ = ["ANONYMOUS_ADMIN_ID", "Chat", "EntityError", "FakeBotAPI", "Limits", "Sent", "User", "parse_html"]
