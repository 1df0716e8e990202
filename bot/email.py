"""E-mail out (digests): SMTP settings read once and checked at start, and one message sent per call.

Settings: ``smtp_host`` (no host: no e-mail), ``smtp_port`` (587), ``smtp_from``, ``smtp_username`` and
``smtp_password`` (both or neither), ``smtp_security`` (``starttls``, ``tls`` or ``none``). Sending goes
through the deliveries outbox (``storage.deliveries``), outside any transaction, with retries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import aiosmtplib

from bot.config import ConfigError, ConfigSource
from storage.deliveries import Attempt, NotDelivered, Rejected

SECURITY = ("starttls", "tls", "none")


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    security: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def read(cls, source: ConfigSource) -> SmtpSettings | None:
        host = source.str("smtp_host")
        port = source.int("smtp_port", 587, minimum=1, maximum=65535)
        sender = source.str("smtp_from")
        security = (source.str("smtp_security", "starttls") or "starttls").lower()
        username, password = source.str("smtp_username"), source.str("smtp_password")
        if not host:
            return None
        if not sender or "@" not in sender:
            raise ConfigError(f"{source.env_name('smtp_from')} must be the address digests come from "
                              f"(got {sender!r})")
        if security not in SECURITY:
            raise ConfigError(f"{source.env_name('smtp_security')} must be one of {', '.join(SECURITY)} "
                              f"(got {security!r})")
        if bool(username) != bool(password):
            raise ConfigError(f"{source.env_name('smtp_username')} and {source.env_name('smtp_password')} "
                              "go together: set both or neither")
        return cls(host, port, sender, security, username, password)


async def send(smtp: SmtpSettings, payload: dict[str, Any], attempt: Attempt) -> dict[str, Any]:
    """Send ``payload`` (to, subject, text, message_id). The Message-ID stays the same across tries, so a
    mail client shows a rare duplicate (an answer lost after the server took it) as one message."""
    message = EmailMessage()
    message["From"] = smtp.sender
    message["To"] = payload["to"]
    message["Subject"] = payload["subject"]
    message["Message-ID"] = payload.get("message_id") or make_msgid(domain=smtp.sender.partition("@")[2])
    message.set_content(payload["text"])
    try:
        await aiosmtplib.send(message, hostname=smtp.host, port=smtp.port, username=smtp.username,
                              password=smtp.password, use_tls=smtp.security == "tls",
                              start_tls=True if smtp.security == "starttls" else False, timeout=30)
    except aiosmtplib.SMTPConnectError as exc:
        raise NotDelivered(str(exc)) from exc
    except aiosmtplib.SMTPRecipientsRefused as exc:
        raise Rejected(str(exc)) from exc
    return {"sent_to": payload["to"]}


__all__ = ["SmtpSettings", "send"]
