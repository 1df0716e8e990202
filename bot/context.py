"""What a handler gets: who speaks, where, in which initiative and role, one session, and ways to answer.

Everything a handler does goes through the update's single transaction; replies and scheduled jobs are
collected and only acted on after that transaction committed, so a failed update leaves no trace.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot import jobs
from bot.errors import PermissionDenied
from bot.events import Button, ChatRef, Edit, File, Notice, Outgoing, PollSpec, Reply, UserRef
from bot.i18n import _, current_locale, format_datetime, using_locale
from bot.identity import InitiativeInfo, Person
from bot.roles import Role
from storage.models import Conversation, InitiativeSetting, OutboxItem, Outcome
from storage.sql import next_number

if TYPE_CHECKING:
    from bot.services import Services

DIALOG_TIMEOUT = timedelta(minutes=15)


@dataclass
class Context:
    services: Services
    session: AsyncSession
    chat: ChatRef
    initiative: InitiativeInfo
    user: Person | None = None
    user_ref: UserRef | None = None
    role: Role = Role.MEMBER
    outgoing: list[Outgoing] = field(default_factory=list)
    after_commit: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    # --- who and where -----------------------------------------------------------------------------

    @property
    def locale(self) -> str:
        return current_locale()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.initiative.timezone)

    @property
    def user_id(self) -> int:
        if self.user is None:
            raise RuntimeError("no user in this context (a scheduled job)")
        return self.user.id

    def for_group(self) -> AbstractContextManager[None]:
        """Speak the group's language inside the block: for what the whole chat reads (a poll, its result,
        a reminder), whoever acted; replies meant for one person stay in that person's language."""
        return using_locale(self.initiative.locale)

    def format_datetime(self, value: datetime, fmt: str = "medium") -> str:
        return format_datetime(value, self.tz, fmt)

    def authorize(self, *, owner_id: int | None = None, role: Role = Role.ORGANISER) -> None:
        """Allow the owner of a thing, or anyone with ``role``; otherwise stop with a clear message."""
        if owner_id is not None and self.user is not None and self.user.id == owner_id:
            return
        if self.role >= role:
            return
        if owner_id is None:
            raise PermissionDenied(_("Only an organiser can do that."))
        raise PermissionDenied(_("Only its creator or an organiser can do that."))

    # --- answering ---------------------------------------------------------------------------------

    def reply(
        self,
        text: str,
        buttons: tuple[Button, ...] = (),
        *,
        key: str | None = None,
        poll: PollSpec | None = None,
    ) -> None:
        self.outgoing.append(Reply(text, buttons, key, poll))

    def edit(self, key: str, text: str, buttons: tuple[Button, ...] = (), poll: PollSpec | None = None) -> None:
        self.outgoing.append(Edit(key, text, buttons, poll=poll))

    def notice(self, text: str) -> None:
        """A confirmation only the acting user needs to see (see ``Notice``)."""
        self.outgoing.append(Notice(text))

    def send_file(self, file: File) -> None:
        self.outgoing.append(file)

    def button(self, label: str, interlinker: str, kind: str, *args: object) -> Button:
        return Button(label, self.services.signer.sign(interlinker, kind, *args))

    # --- dialogs -----------------------------------------------------------------------------------

    async def start_dialog(self, interlinker: str, dialog: str, step: str, data: dict[str, Any]) -> None:
        """Wait for this user's next message in this chat (until /cancel or the timeout)."""
        await self.end_dialog()
        self.session.add(
            Conversation(
                platform=self.chat.platform,
                chat_id=self.chat.chat_id,
                thread_id=self.chat.thread_id or "",
                user_id=self.user_id,
                interlinker=interlinker,
                dialog=dialog,
                step=step,
                data=data,
                expires_at=datetime.now(UTC) + DIALOG_TIMEOUT,
            )
        )

    async def current_dialog(self) -> Conversation | None:
        if self.user is None:
            return None
        return await self.session.get(
            Conversation, (self.chat.platform, self.chat.chat_id, self.chat.thread_id or "", self.user.id)
        )

    async def end_dialog(self) -> bool:
        row = await self.current_dialog()
        if row is None:
            return False
        await self.session.delete(row)
        await self.session.flush()
        return True

    async def setting(self, name: str, default: str) -> str:
        """The initiative's value of an organiser setting (``SettingSpec``), or ``default``."""
        found = await self.session.get(InitiativeSetting, (self.initiative.id, name))
        return found.value if found is not None else default

    # --- jobs and outcomes -------------------------------------------------------------------------

    async def schedule(self, interlinker: str, job: str, run_at: datetime, job_id: str, **params: Any) -> None:
        """Run ``job`` at ``run_at``, in this chat. Written in this transaction (so it exists exactly when
        the update that decided it does); ``job_id`` names it: scheduling it again moves it."""
        await jobs.schedule(self.session, job_id, interlinker, job, self.chat.platform, self.chat.chat_id,
                            run_at, params)

        async def wake() -> None:
            self.services.jobs.wake()

        self.after_commit.append(wake)

    async def unschedule(self, job_id: str) -> None:
        await jobs.unschedule(self.session, job_id)

    async def next_number(self, scope: str) -> int:
        """The next number in this initiative for ``scope`` (poll #N): never given twice, even to two
        people creating at the same instant on different workers."""
        return await next_number(self.session, f"{scope}:{self.initiative.id}")

    async def record_outcome(
        self, kind: str, title: str, result: dict[str, Any], decided_at: datetime | None = None
    ) -> Outcome:
        """Write an outcome and its outbox row in this transaction; the PA side gets it after commit."""
        outcome = Outcome(
            uid=str(uuid.uuid4()),
            initiative_id=self.initiative.id,
            kind=kind,
            payload={"title": title, "result": result},
            decided_at=decided_at or datetime.now(UTC),
        )
        self.session.add(outcome)
        await self.session.flush()
        self.session.add(OutboxItem(outcome_id=outcome.id))

        async def wake() -> None:
            self.services.outbox.wake()

        self.after_commit.append(wake)
        return outcome
