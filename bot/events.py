"""Platform-neutral events: what adapters hand to the core and what the core asks adapters to show.

Adapters translate their network's updates into these and render the outgoing ones; nothing in here knows
about Telegram, Matrix or a terminal, so an Interlinker written against them runs everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ChatRef:
    """A conversation on one network: a group, a room, a private chat (optionally a thread in it)."""

    platform: str
    chat_id: str
    thread_id: str | None = None
    title: str | None = None
    is_private: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return (self.platform, self.chat_id)


@dataclass(frozen=True, slots=True)
class UserRef:
    """Someone speaking on one network. ``language`` is the client's language code, if it sends one."""

    platform: str
    user_id: str
    display_name: str
    language: str | None = None


# --- incoming -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Command:
    """``/name args``; ``args`` is the raw rest of the line, so each command parses what it needs."""

    name: str
    args: str = ""


@dataclass(frozen=True, slots=True)
class Text:
    """A plain message that is not a command (answers in a dialog, for example)."""

    text: str


@dataclass(frozen=True, slots=True)
class ButtonPress:
    """A pressed button or chosen numbered option; ``payload`` is exactly what the core signed."""

    payload: str


@dataclass(frozen=True, slots=True)
class NativePollAnswer:
    """A vote cast in a network's own poll UI (Telegram poll, MSC3381 response), mapped by the adapter to
    the payloads of the options chosen (``PollSpec.options``); an empty tuple means the vote was
    retracted. ``key`` is the key of the Reply that carried the poll, needed for retractions."""

    payloads: tuple[str, ...]
    key: str | None = None


@dataclass(frozen=True, slots=True)
class Location:
    """A point on the map: shared by someone (Telegram location or venue, Matrix ``m.location``) or sent
    by the bot as a pin where the network shows one. ``name`` and ``address`` are optional words."""

    latitude: float
    longitude: float
    name: str = ""
    address: str = ""

    def text(self) -> str:
        """The typed form ``bot.geo.read_point`` reads back: ``Park gate, Via Roma 1 (45.07030, 7.68690)``."""
        words = ", ".join(part for part in (self.name, self.address) if part)
        return f"{words} ({self.latitude:.5f}, {self.longitude:.5f})".lstrip()


@dataclass(frozen=True, slots=True)
class Photo:
    """A picture someone sent (with its caption). Adapters download it before handing it over, at most
    ``bot.photos.MAX_BYTES``: a larger one arrives empty with its ``size``, so the core can say why. ``ref``
    is the adapter's own handle for downloading it."""

    content: bytes
    mime_type: str
    caption: str = ""
    size: int | None = None
    ref: str = ""


Event = Command | Text | ButtonPress | NativePollAnswer | Location | Photo


@dataclass(frozen=True, slots=True)
class Update:
    """One thing that happened, with the key that makes handling it idempotent.

    ``update_id`` must be unique per platform and stable across redeliveries (Telegram's update_id, a
    Matrix event id, a console line counter), so a redelivered update is recognised and skipped.
    """

    update_id: str
    chat: ChatRef
    user: UserRef
    event: Event
    message_id: str | None = None  # the network's id of the message that carried it, where replies need it


# --- outgoing -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Button:
    """One choice. ``payload`` is signed by the core; adapters pass it back untouched in ButtonPress.
    With ``url`` the button opens a link instead (a deep link into a private chat); adapters without
    link buttons show the link as text."""

    label: str
    payload: str
    url: str | None = None


@dataclass(frozen=True, slots=True)
class PollSpec:
    """Lets adapters with native polls show one too; votes come back as NativePollAnswer."""

    question: str
    options: tuple[Button, ...]
    closed: bool = False


@dataclass(frozen=True, slots=True)
class Reply:
    """A new message. ``text`` is plain text: adapters escape it for their markup.

    ``key`` names the message (e.g. ``polls:12``) so that later ``Edit``s can find it again; the adapter
    returns the platform message id from ``send`` and the core remembers it under that key.
    """

    text: str
    buttons: tuple[Button, ...] = ()
    key: str | None = None
    poll: PollSpec | None = None
    ask: bool = False  # a dialog's question: the person's next message is the answer (``Context.ask``)
    reply_to: str | None = None  # the message answered (``Update.message_id``)


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace the text (and buttons) of the message sent earlier under ``key``. Adapters may coalesce
    several edits of one message into the last one; those without edits may drop them."""

    key: str
    text: str
    buttons: tuple[Button, ...] = ()
    message_id: str | None = None
    poll: PollSpec | None = None


@dataclass(frozen=True, slots=True)
class File:
    """A document to attach, e.g. an iCalendar invite or a CSV export."""

    filename: str
    content: bytes
    mime_type: str = "application/octet-stream"
    caption: str = ""


@dataclass(frozen=True, slots=True)
class Notice:
    """A short confirmation for the person who just acted (e.g. "vote counted"). Adapters show it where
    it disturbs nobody: Telegram as the answer to the button press; others as a normal message.
    ``alert``: it says something went wrong (Telegram shows it as a dialog the person must dismiss)."""

    text: str
    alert: bool = False


Outgoing = Reply | Edit | File | Notice | Location
