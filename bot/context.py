"""What a handler gets: who speaks, where, in which initiative and role, one session, and ways to answer.

Everything a handler does goes through the update's single transaction; replies and scheduled jobs are
collected and only acted on after that transaction committed, so a failed update leaves no trace.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import direct, jobs
from bot.errors import PermissionDenied, UserError
from bot.events import Button, ChatRef, Edit, File, Location, Notice, Outgoing, Photo, PollSpec, Reply, UserRef
from bot.i18n import _, current_locale, format_datetime, using_locale
from bot.identity import InitiativeInfo, Person
from bot.ledger import sign_checkpoint
from bot.officers import pseudonym
from bot.roles import Role
from storage import deliveries, ledger, outbox
from storage.models import Conversation, InitiativeSetting, Membership, Outcome, User, UserSetting
from storage.sql import next_number

if TYPE_CHECKING:
    from bot.services import Services

DIALOG_TIMEOUT = timedelta(minutes=15)
N = TypeVar("N")


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
    directs: list[tuple[ChatRef, list[Outgoing]]] = field(default_factory=list)
    message_id: str | None = None  # the message being handled (``Update.message_id``)
    photo: Photo | None = None  # the picture that came with the message being handled, if any
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

    def ask(self, text: str, buttons: tuple[Button, ...] = ()) -> None:
        """A dialog's question, answered by the person's next message. In a group, networks that show the
        bot only messages addressed to it (Telegram's privacy mode) open a reply to it for that person."""
        self.outgoing.append(Reply(text, buttons, ask=True, reply_to=self.message_id))

    def edit(self, key: str, text: str, buttons: tuple[Button, ...] = (), poll: PollSpec | None = None) -> None:
        self.outgoing.append(Edit(key, text, buttons, poll=poll))

    def notice(self, text: str) -> None:
        """A confirmation only the acting user needs to see (see ``Notice``)."""
        self.outgoing.append(Notice(text))

    def send_file(self, file: File) -> None:
        self.outgoing.append(file)

    def send_location(self, location: Location) -> None:
        """A pin on the map where the network shows one (the console prints the point and a map link)."""
        self.outgoing.append(location)

    def button(self, label: str, interlinker: str, kind: str, *args: object) -> Button:
        return Button(label, self.services.signer.sign(interlinker, kind, *args))

    def link_button(self, label: str, start: str = "") -> Button | None:
        """A button opening a private chat with the bot (sending it ``/start <start>``; see
        ``Interlinker.on_start``), on networks with such links; None elsewhere."""
        adapter = self.services.adapter_for(self.chat)
        url = adapter.deep_link(start) if adapter is not None else None
        return None if url is None else Button(label, "", url)

    # --- one person alone --------------------------------------------------------------------------

    async def direct(self, user_id: int, render: Callable[[direct.Recipient], Sequence[Outgoing]], *,
                     hold: bool = False) -> bool:
        """Write to one person in their private chat, rendered by ``render`` in their language (read
        their zone with ``Recipient.zone``). Staged in this transaction like every reply. False when the
        network cannot reach them privately yet (they never started the bot): with ``hold`` the
        messages wait and go out when they open a private chat; the caller may say so in the group,
        e.g. with ``link_button``."""
        person = await direct.recipient(self.session, user_id)
        if person is None:
            return False
        chat = direct.private_chat(person, self.services.adapters)
        if chat is None and not hold:
            return False
        with using_locale(person.locale or self.initiative.locale):
            messages = list(render(person))
        if chat is None:
            await direct.hold(self.session, user_id, messages)
            return False
        for queued_chat, queued in self.directs:
            if queued_chat.key == chat.key:
                queued.extend(messages)
                break
        else:
            self.directs.append((chat, messages))
        return True

    def chat_members(self) -> list[UserRef] | None:
        """Who is in this chat, when the network says so without a request (see ``Adapter.members``)."""
        adapter = self.services.adapter_for(self.chat)
        return adapter.members(self.chat) if adapter is not None else None

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

    async def names(self, user_ids: Iterable[int | None]) -> dict[int, str]:
        """Display names of these people (ids of forgotten people, None, are left out)."""
        wanted = {user_id for user_id in user_ids if user_id is not None}
        if not wanted:
            return {}
        rows = await self.session.execute(select(User.id, User.display_name).where(User.id.in_(wanted)))
        return {user_id: name for user_id, name in rows.all()}

    async def member_named(self, typed: str, example: str) -> tuple[int, str]:
        """The one member of this initiative called ``typed`` (a leading @ and case ignored): (user id,
        name); otherwise a UserError listing the members known, with ``example`` showing how to write it."""
        wanted = " ".join(typed.strip().lstrip("@").split())
        if not wanted:
            raise UserError(_("Write the member's name, for example: {example}").format(example=example))
        rows = (await self.session.execute(
            select(User.id, User.display_name).join(Membership, Membership.user_id == User.id)
            .where(Membership.initiative_id == self.initiative.id))).all()
        found = [(user_id, name) for user_id, name in rows if name.casefold() == wanted.casefold()]
        if len(found) != 1:
            raise UserError(_("I know no single member called “{name}” here. Members I know: {names}.").format(
                name=wanted[:50], names=", ".join(sorted(name for _id, name in rows))))
        return found[0]

    async def setting(self, name: str, default: str) -> str:
        """The initiative's value of an organiser setting (``SettingSpec``), or ``default``."""
        found = await self.session.get(InitiativeSetting, (self.initiative.id, name))
        return found.value if found is not None else default

    async def personal_setting(self, user_id: int, name: str, default: str) -> str:
        """A person's own value of a ``personal`` setting, or ``default``."""
        found = await self.session.get(UserSetting, (user_id, name))
        return found.value if found is not None else default

    # --- jobs and outcomes -------------------------------------------------------------------------

    async def schedule(self, interlinker: str, job: str, run_at: datetime, job_id: str, *,
                       chat: ChatRef | None = None, **params: Any) -> None:
        """Run ``job`` at ``run_at``, in this chat (or ``chat``: a group's card updated after a press in a
        private chat). Written in this transaction (so it exists exactly when the update that decided it
        does); ``job_id`` names it: scheduling it again moves it."""
        where = chat or self.chat
        await jobs.schedule(self.session, job_id, interlinker, job, where.platform, where.chat_id,
                            run_at, params, thread_id=where.thread_id)

        async def wake() -> None:
            self.services.jobs.wake()

        self.after_commit.append(wake)

    async def unschedule(self, job_id: str) -> None:
        await jobs.unschedule(self.session, job_id)

    async def deliver(self, interlinker: str, destination: str, key: str, payload: dict[str, Any]) -> None:
        """Send ``payload`` to ``destination`` (one of ``interlinker``'s ``destinations``) once this
        transaction commits: with retries, once per ``key``."""
        await deliveries.enqueue(self.session, key, interlinker, destination, payload)

        async def wake() -> None:
            self.services.deliveries.wake()

        self.after_commit.append(wake)

    async def numbered(self, model: type[N], number: int, missing: str, *, lock: bool = False) -> N:
        """This initiative's ``model`` row (a table with ``initiative_id`` and ``number``: event #3,
        shift #3), or a ``UserError`` saying ``missing`` (a translated template with ``{number}``). With
        ``lock`` its row is held, freshly read, until the transaction ends (PostgreSQL: two workers
        changing it at once take turns)."""
        query = select(model).where(getattr(model, "initiative_id") == self.initiative.id,  # noqa: B009
                                    getattr(model, "number") == number)  # noqa: B009
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        found = await self.session.scalar(query)
        if found is None:
            raise UserError(missing.format(number=number))
        return found

    async def next_number(self, scope: str, *, initiative_id: int | None = None) -> int:
        """The next number in this initiative (or ``initiative_id``'s) for ``scope`` (poll #N): never given
        twice, even to two people creating at the same instant on different workers."""
        return await next_number(self.session, f"{scope}:{initiative_id or self.initiative.id}")

    async def record_outcome(
        self, kind: str, title: str, result: dict[str, Any], decided_at: datetime | None = None, *,
        initiative_id: int | None = None, seal: bool = False,
    ) -> Outcome:
        """Write an outcome, its ledger entry and its outbox row in this transaction; the PA side gets it
        after commit. It is this chat's initiative's, or ``initiative_id``'s (a group's report finished in
        a private chat). ``seal`` signs a ledger checkpoint right after it (a poll's close)."""
        initiative_id = initiative_id or self.initiative.id
        outcome = await outbox.record_outcome(self.session, initiative_id, kind, title, result, decided_at,
                                              by=self._actor(initiative_id))
        if seal:
            await sign_checkpoint(self.session, self.services.ledger_key, initiative_id)

        async def wake() -> None:
            self.services.outbox.wake()

        self.after_commit.append(wake)
        return outcome

    async def record_governance(self, kind: str, data: dict[str, Any]) -> None:
        """Put a change of who may decide (a role, a setting that says who may open or close a poll) in the
        initiative's ledger, in this transaction. Name people in ``data`` with ``self.pseudonym``."""
        await ledger.append(self.session, self.initiative.id, kind, data, by=self._actor(self.initiative.id))

    def pseudonym(self, user_id: int | None, initiative_id: int | None = None) -> str | None:
        """How the ledger and the PA side name a person: a keyed hash, per initiative."""
        if user_id is None:
            return None
        return pseudonym(self.services.settings.secret, initiative_id or self.initiative.id, user_id)

    def _actor(self, initiative_id: int) -> str | None:
        return self.pseudonym(self.user.id, initiative_id) if self.user is not None else None
