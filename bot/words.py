"""Words people answer a bot's questions with, in every language we speak, and the number they write
after a command."""

from __future__ import annotations

from bot.i18n import _
from bot.when import plain

# "Nothing more" at an optional step: no, none, skip, done… (accents optional).
_SKIP = {"no", "none", "ok", "skip", "done", "create", "-", "nessuna", "nessuno", "niente", "crea", "salta", "ninguna",
         "ninguno", "nada", "crear", "omitir", "ne", "nav", "nekas", "izveidot", "izlaist"}


def is_skip(text: str) -> bool:
    """Whether ``text`` declines an optional step (in any language, or the reader's word for "no")."""
    typed = plain(text.strip())
    return typed in _SKIP or typed == plain(_("no"))


def leading_number(args: str) -> tuple[int, str] | None:
    """``/command N rest`` (``#N`` too) → (N, rest); None when the arguments do not start with a number."""
    head, _sep, rest = args.strip().partition(" ")
    head = head.lstrip("#")
    if not head.isdigit() or len(head) > 9:
        return None
    return int(head), rest.strip()
