"""The platform-neutral core: events, dispatcher, Interlinker base, i18n, jobs, sender, application."""

from bot.adapter import Adapter, Capabilities, CoreAPI, HandleResult
from bot.context import Context
from bot.errors import PermissionDenied, StoreUnavailable, UserError
from bot.events import (
    Button,
    ButtonPress,
    ChatRef,
    Command,
    Edit,
    File,
    Location,
    NativePollAnswer,
    Notice,
    Photo,
    PollSpec,
    Reply,
    Text,
    Update,
    UserRef,
)
from bot.interlinker import Catalogue, Interlinker, button, command, dialog, job
from bot.roles import Role

__all__ = [
    "Adapter", "Button", "ButtonPress", "Capabilities", "Catalogue", "ChatRef", "Command", "Context", "CoreAPI",
    "Edit", "File", "HandleResult", "Interlinker", "Location", "NativePollAnswer", "Notice", "PermissionDenied",
    "Photo", "PollSpec", "Reply", "Role", "StoreUnavailable", "Text", "Update", "UserError", "UserRef", "button",
    "command", "dialog", "job",
]
