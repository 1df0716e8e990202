"""Errors a handler raises to stop with a message for the user. The dispatcher rolls back the
handler's changes and shows the (already translated) message, so bad input changes nothing."""

from __future__ import annotations


class UserError(Exception):
    """Bad input or a request that cannot be done; ``str(self)`` is shown to the user."""


class PermissionDenied(UserError):
    """The user's role does not allow this."""


class StoreUnavailable(RuntimeError):
    """The database could not be reached; the update was not processed and may be retried."""


class Undeliverable(RuntimeError):
    """The network refused a message for good (the chat blocked the bot, the message is malformed):
    sending it again would not help, so the sender drops it."""
