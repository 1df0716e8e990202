"""Console adapter: chat with the bot in a terminal, or drive it with a piped script."""

from adapters.console._adapter import ConsoleAdapter, parse_line

__all__ = ["ConsoleAdapter", "parse_line"]
