"""A local Telegram Bot API server that follows the documentation, for tests and benchmarks.

It speaks the real wire format (form-encoded or multipart requests whose non-string values are JSON,
``{"ok": ...}`` envelopes), enforces the documented limits with the real error texts, rate-limits like
Telegram (configurable), can inject 429s per chat, and simulates users writing to the bot. Everything the
bot sends lands in ``sent`` so tests assert what a user would see. Updates are delivered by long polling
(``getUpdates`` with offset confirmation) or, after ``setWebhook``, by POSTing them to the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import re
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from ._html import EntityError, parse_html

JSON = dict[str, Any]
ANONYMOUS_ADMIN_ID = 1087968824
SEND_METHODS = frozenset(
    {"sendMessage", "editMessageText", "sendDocument", "sendPoll", "editMessageReplyMarkup", "sendLocation",
     "sendVenue", "sendPhoto"}
)
_JSON_FIELDS = frozenset(
    {"reply_markup", "entities", "allowed_updates", "commands", "drop_pending_updates", "show_alert",
     "disable_notification", "options", "is_anonymous", "link_preview_options", "reply_parameters"}
)
_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class ApiError(Exception):
    """An ``{"ok": false}`` answer."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


@dataclass(frozen=True)
class Limits:
    """(count, window seconds) pairs; ``enforce`` turns them on. Telegram's documented defaults."""

    per_chat: tuple[int, float] = (1, 1.0)
    per_group: tuple[int, float] = (20, 60.0)
    global_: tuple[int, float] = (30, 1.0)
    enforce: bool = False


@dataclass(frozen=True)
class User:
    id: int
    first_name: str
    username: str | None = None
    language_code: str | None = None
    is_bot: bool = False

    def to_json(self) -> JSON:
        data: JSON = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data


@dataclass
class Chat:
    id: int
    type: str
    title: str | None = None
    admins: set[int] = field(default_factory=set)
    members: set[int] = field(default_factory=set)

    def to_json(self) -> JSON:
        data: JSON = {"id": self.id, "type": self.type}
        if self.title:
            data["title"] = self.title
        return data


@dataclass
class Sent:
    """One message the bot sent or edited, as a user would see it."""

    method: str
    chat_id: int
    message_id: int
    text: str
    raw: str
    buttons: list[list[tuple[str, str]]]
    at: float
    filename: str | None = None
    thread_id: int | None = None
    content: bytes | None = None
    location: tuple[float, float] | None = None
    reply_to: int | None = None  # the message it answers (reply_parameters)
    force_reply: bool = False  # ForceReply: the reader's client opens a reply to it


class _Window:
    """At most ``count`` events in any ``window`` seconds (the same rule Telegram applies)."""

    def __init__(self, count: int, window: float) -> None:
        self.count = count
        self.window = window
        self.times: deque[float] = deque()

    def wait_needed(self, now: float) -> float:
        while self.times and self.times[0] <= now - self.window:
            self.times.popleft()
        if len(self.times) < self.count:
            return 0.0
        return self.times[0] + self.window - now

    def add(self, now: float) -> None:
        self.times.append(now)


class FakeBotAPI:
    """The server. ``await start()`` returns the root URL (use ``{url}/bot`` as PTB's base_url)."""

    def __init__(
        self,
        token: str = "123456:TEST-token_abc",
        username: str = "interlink_test_bot",
        limits: Limits | None = None,
        privacy_mode: bool = True,
    ) -> None:
        self.token = token
        self.bot_user = User(int(token.split(":")[0]), "Interlink", username, is_bot=True)
        self.limits = limits or Limits()
        self.privacy_mode = privacy_mode
        self.chats: dict[int, Chat] = {}
        self.users: dict[int, User] = {}
        self.sent: list[Sent] = []
        self.calls: list[tuple[str, JSON, int]] = []
        self.answered: dict[str, JSON] = {}
        self.throttled: list[tuple[int, float]] = []
        self.method_delays: dict[str, float] = {}  # seconds a method takes to answer (a slow Telegram)
        self.webhook_deliveries: list[tuple[int, int]] = []
        self.messages: dict[tuple[int, int], JSON] = {}
        self._pending: list[JSON] = []
        self._update_ids = itertools.count(500_001)
        self._message_ids: dict[int, itertools.count[int]] = defaultdict(lambda: itertools.count(1))
        self._callback_ids = itertools.count(9_000_001)
        self._callbacks: dict[str, JSON] = {}
        self._new_update = asyncio.Event()
        self._poll_generation = 0
        self._injected: dict[int, list[int]] = defaultdict(list)
        self._chat_windows: dict[int, _Window] = {}
        self._group_windows: dict[int, _Window] = {}
        self._global_window = _Window(*self.limits.global_)
        self._changed = asyncio.Condition()
        self.webhook_url = ""
        self.command_menus: dict[str, list[JSON]] = {}  # by language_code ("" = default)
        self.webhook_secret = ""
        self._webhook_task: asyncio.Task[None] | None = None
        self._runner: web.AppRunner | None = None
        self.url = ""
        self.files: dict[str, bytes] = {}  # file_id → what a user uploaded (getFile, then /file/bot…/<path>)

    # --- lifecycle -------------------------------------------------------------------------------

    async def start(self, port: int = 0) -> str:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._dispatch)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        sockets = site._server.sockets  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{sockets[0].getsockname()[1]}"
        return self.url

    async def stop(self) -> None:
        if self._webhook_task:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
        if self._runner:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeBotAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- simulated users -------------------------------------------------------------------------

    def user(self, user_id: int, first_name: str, language_code: str | None = "en") -> User:
        user = User(user_id, first_name, first_name.lower(), language_code)
        self.users[user_id] = user
        return user

    def private_chat(self, user: User) -> Chat:
        return self.chats.setdefault(user.id, Chat(user.id, "private"))

    def group(self, chat_id: int, title: str, members: list[User], admins: list[User] = ()) -> Chat:  # type: ignore[assignment]
        chat = Chat(chat_id, "supergroup", title, {a.id for a in admins}, {m.id for m in members})
        self.chats[chat_id] = chat
        return chat

    def send_text(self, user: User, chat: Chat, text: str, *, reply_to: int | None = None,
                  topic: int | None = None) -> int | None:
        """A user writes ``text``; commands get a ``bot_command`` entity. Returns the update_id, or None
        when privacy mode hides the message from the bot (as Telegram does in groups)."""
        message = self._user_message(user.to_json(), chat, text)
        if reply_to is not None:
            message["reply_to_message"] = self.messages[(chat.id, reply_to)]
        if topic is not None:  # a forum topic of a supergroup
            message["message_thread_id"] = topic
            message["is_topic_message"] = True
        if chat.type != "private" and self.privacy_mode and not text.startswith("/") and reply_to is None:
            return None
        return self.push({"message": message})

    def send_location(self, user: User, chat: Chat, latitude: float, longitude: float, *,
                      title: str | None = None, address: str | None = None, reply_to: int | None = None) -> int | None:
        """A user shares a location (a venue with ``title`` and ``address``); in groups under privacy mode
        the bot sees it only as a reply to one of its messages."""
        message = self._user_message(user.to_json(), chat, "")
        del message["text"]
        message["location"] = {"latitude": latitude, "longitude": longitude}
        if title is not None:
            message["venue"] = {"location": message["location"], "title": title, "address": address or ""}
        if reply_to is not None:
            message["reply_to_message"] = self.messages[(chat.id, reply_to)]
        if chat.type != "private" and self.privacy_mode and reply_to is None:
            return None
        return self.push({"message": message})

    def send_photo(self, user: User, chat: Chat, content: bytes, *, caption: str = "", as_document: bool = False,
                   mime_type: str = "image/jpeg", reply_to: int | None = None) -> int | None:
        """A user sends a picture (as a compressed photo, or as a file); the bot downloads it with getFile."""
        message = self._user_message(user.to_json(), chat, "")
        del message["text"]
        file_id = f"upload{len(self.files) + 1}"
        self.files[file_id] = content
        if as_document:
            message["document"] = {"file_id": file_id, "file_unique_id": file_id, "file_name": "photo.jpg",
                                   "mime_type": mime_type, "file_size": len(content)}
        else:
            message["photo"] = [{"file_id": file_id, "file_unique_id": file_id, "width": 800, "height": 600,
                                 "file_size": len(content)}]
        if caption:
            message["caption"] = caption
        if reply_to is not None:
            message["reply_to_message"] = self.messages[(chat.id, reply_to)]
        if chat.type != "private" and self.privacy_mode and reply_to is None:
            return None
        return self.push({"message": message})

    def send_as_anonymous_admin(self, chat: Chat, text: str) -> int:
        """An administrator posting "as the group": from GroupAnonymousBot, sender_chat = the chat."""
        anon = {"id": ANONYMOUS_ADMIN_ID, "is_bot": True, "first_name": "Group",
                "username": "GroupAnonymousBot"}
        message = self._user_message(anon, chat, text)
        message["sender_chat"] = chat.to_json()
        return self.push({"message": message})

    def press(self, user: User, chat: Chat, message_id: int, data: str) -> int:
        """A user presses an inline button (or forges callback data) on a message of the bot."""
        query_id = str(next(self._callback_ids))
        message = self.messages.get((chat.id, message_id)) or {
            "message_id": message_id, "date": 0, "chat": chat.to_json()
        }
        query = {
            "id": query_id, "from": user.to_json(), "message": message,
            "chat_instance": str(abs(chat.id)), "data": data,
        }
        self._callbacks[query_id] = {"at": time.monotonic()}
        return self.push({"callback_query": query})

    def poll_answer(self, user: User, poll_id: str, option_ids: list[int]) -> int:
        answer = {"poll_id": poll_id, "user": user.to_json(), "option_ids": option_ids}
        return self.push({"poll_answer": answer})

    def push(self, payload: JSON) -> int:
        update_id = next(self._update_ids)
        self._pending.append({"update_id": update_id, **payload})
        self._new_update.set()
        return update_id

    def inject_429(self, chat_id: int, retry_after: int, count: int = 1) -> None:
        """The next ``count`` sends to ``chat_id`` answer 429 with ``retry_after``."""
        self._injected[chat_id].extend([retry_after] * count)

    @property
    def pending_updates(self) -> int:
        return len(self._pending)

    def sent_to(self, chat_id: int) -> list[Sent]:
        return [s for s in self.sent if s.chat_id == chat_id]

    def current(self, chat_id: int, message_id: int) -> JSON:
        return self.messages[(chat_id, message_id)]

    async def wait_for(self, predicate: Callable[[], object], within: float = 10.0) -> None:
        """Wait until ``predicate()`` is true, re-checking after each request the bot makes."""
        async def _wait() -> None:
            async with self._changed:
                await self._changed.wait_for(predicate)

        try:
            await asyncio.wait_for(_wait(), within)
        except TimeoutError:
            raise AssertionError(f"not met within {within}s; last sent {self.sent[-5:]!r}") from None

    def _user_message(self, sender: JSON, chat: Chat, text: str) -> JSON:
        message: JSON = {
            "message_id": next(self._message_ids[chat.id]), "date": int(time.time()),
            "chat": chat.to_json(), "from": sender, "text": text,
        }
        if text.startswith("/"):
            length = len(text.split()[0])
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        self.messages[(chat.id, message["message_id"])] = message
        return message

    # --- HTTP ------------------------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return self._error(ApiError(401, "Unauthorized"))
        params = await self._params(request)
        handler = getattr(self, f"_m_{method}", None)
        try:
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            if method in SEND_METHODS:
                self._rate_check(int(params.get("chat_id", 0)))
            if delay := self.method_delays.get(method):
                await asyncio.sleep(delay)
            result = await handler(params)
        except ApiError as exc:
            self.calls.append((method, params, exc.code))
            await self._notify()
            return self._error(exc)
        self.calls.append((method, params, 200))
        await self._notify()
        return web.json_response({"ok": True, "result": result})

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    @staticmethod
    def _error(exc: ApiError) -> web.Response:
        body: JSON = {"ok": False, "error_code": exc.code, "description": exc.description}
        if exc.retry_after is not None:
            body["parameters"] = {"retry_after": exc.retry_after}
        return web.json_response(body, status=exc.code)

    @staticmethod
    async def _params(request: web.Request) -> JSON:
        params: JSON = dict(request.query)
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, aiohttp.BodyPartReader) or part.name is None:
                    continue
                if part.filename:
                    params[part.name] = (part.filename, await part.read())
                else:
                    params[part.name] = await part.text()
        elif request.content_type == "application/json":
            params.update(await request.json())
        elif request.can_read_body:
            params.update(await request.post())
        for key, value in list(params.items()):
            if key in _JSON_FIELDS and isinstance(value, str):
                with contextlib.suppress(ValueError, TypeError):
                    params[key] = json.loads(value)
        return params

    def _rate_check(self, chat_id: int) -> None:
        injected = self._injected.get(chat_id)
        if injected:
            retry = injected.pop(0)
            self.throttled.append((chat_id, time.monotonic()))
            raise ApiError(429, f"Too Many Requests: retry after {retry}", retry)
        if not self.limits.enforce:
            return
        now = time.monotonic()
        windows = [self._global_window]
        windows.append(self._chat_windows.setdefault(chat_id, _Window(*self.limits.per_chat)))
        if chat_id < 0:
            windows.append(self._group_windows.setdefault(chat_id, _Window(*self.limits.per_group)))
        wait = max(w.wait_needed(now) for w in windows)
        if wait > 0:
            self.throttled.append((chat_id, now))
            retry = max(1, math.ceil(wait))
            raise ApiError(429, f"Too Many Requests: retry after {retry}", retry)
        for w in windows:
            w.add(now)

    # --- methods ---------------------------------------------------------------------------------

    async def _m_getMe(self, params: JSON) -> JSON:
        return {**self.bot_user.to_json(), "can_join_groups": True,
                "can_read_all_group_messages": not self.privacy_mode, "supports_inline_queries": False}

    async def _m_logOut(self, params: JSON) -> bool:
        return True

    async def _m_close(self, params: JSON) -> bool:
        return True

    async def _m_setMyCommands(self, params: JSON) -> bool:
        commands = params.get("commands", [])
        if len(commands) > 100:
            raise ApiError(400, "Bad Request: too many commands")
        for entry in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(entry.get("command", ""))):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(entry.get("description", ""))) <= 256:
                raise ApiError(400, "Bad Request: command description is empty or too long")
        self.command_menus[str(params.get("language_code") or "")] = list(commands)
        return True

    async def _m_getMyCommands(self, params: JSON) -> list[JSON]:
        return list(self.command_menus.get(str(params.get("language_code") or ""), []))

    async def _m_deleteMyCommands(self, params: JSON) -> bool:
        self.command_menus.pop(str(params.get("language_code") or ""), None)
        return True

    async def _m_getUpdates(self, params: JSON) -> list[JSON]:
        if self.webhook_url:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")
        offset = int(params.get("offset", 0) or 0)
        limit = min(max(int(params.get("limit", 100) or 100), 1), 100)
        timeout = float(params.get("timeout", 0) or 0)
        if offset > 0:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        elif offset < 0:
            self._pending = self._pending[offset:]
        self._poll_generation += 1
        generation = self._poll_generation
        deadline = time.monotonic() + timeout
        while not self._pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            self._new_update.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), min(remaining, 0.5))
            if generation != self._poll_generation:
                raise ApiError(409, "Conflict: terminated by other getUpdates request; "
                                    "make sure that only one bot instance is running")
        return self._pending[:limit]

    async def _m_setWebhook(self, params: JSON) -> bool:
        url = str(params.get("url", ""))
        secret = str(params.get("secret_token", ""))
        if secret and not _SECRET_TOKEN.match(secret):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        if url and not url.startswith(("http://", "https://")):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        if params.get("drop_pending_updates"):
            self._pending.clear()
        self.webhook_url, self.webhook_secret = url, secret
        self._poll_generation += 1
        if url and (self._webhook_task is None or self._webhook_task.done()):
            self._webhook_task = asyncio.create_task(self._deliver_webhooks())
        return True

    async def _m_deleteWebhook(self, params: JSON) -> bool:
        if params.get("drop_pending_updates"):
            self._pending.clear()
        self.webhook_url = self.webhook_secret = ""
        return True

    async def _m_getWebhookInfo(self, params: JSON) -> JSON:
        return {"url": self.webhook_url, "has_custom_certificate": False,
                "pending_update_count": len(self._pending)}

    async def _deliver_webhooks(self) -> None:
        """POST pending updates one at a time; a non-2xx answer means "retry later", like Telegram."""
        async with aiohttp.ClientSession() as session:
            while self.webhook_url:
                if not self._pending:
                    self._new_update.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._new_update.wait(), 0.5)
                    continue
                update = self._pending[0]
                secret = self.webhook_secret
                headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
                try:
                    async with session.post(self.webhook_url, json=update, headers=headers) as response:
                        status = response.status
                except aiohttp.ClientError:
                    status = 0
                self.webhook_deliveries.append((update["update_id"], status))
                await self._notify()
                if 200 <= status < 300:
                    if self._pending and self._pending[0] is update:
                        self._pending.pop(0)
                else:
                    await asyncio.sleep(0.2)

    def _chat(self, params: JSON) -> Chat:
        try:
            chat_id = int(params["chat_id"])
        except (KeyError, ValueError, TypeError):
            raise ApiError(400, "Bad Request: chat not found") from None
        chat = self.chats.get(chat_id)
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        return chat

    @staticmethod
    def _markup(params: JSON) -> list[list[tuple[str, str]]]:
        markup = params.get("reply_markup")
        if not markup:
            return []
        if isinstance(markup, dict) and markup.get("force_reply") is True:
            return []  # the reply box opens for the person (``Sent.force_reply``)
        if not isinstance(markup, dict) or not isinstance(markup.get("inline_keyboard"), list):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        rows: list[list[tuple[str, str]]] = []
        count = 0
        for row in markup["inline_keyboard"]:
            buttons = []
            for button in row:
                count += 1
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode("utf-8")) <= 64:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                url = button.get("url")
                if not button.get("text") or (data is None) == (url is None):
                    raise ApiError(400, "Bad Request: text buttons are unallowed in the inline keyboard")
                if url is not None and not str(url).startswith(("https://", "http://", "tg://")):
                    raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")
                buttons.append((str(button["text"]), str(data) if url is None else f"url:{url}"))
            rows.append(buttons)
        if count > 100:
            raise ApiError(400, "Bad Request: too many inline keyboard buttons")
        return rows

    @staticmethod
    def _text(raw: str, parse_mode: str | None, limit: int, what: str) -> str:
        if parse_mode and parse_mode.upper() == "HTML":
            try:
                plain = parse_html(raw)
            except EntityError as exc:
                raise ApiError(400, f"Bad Request: can't parse entities: {exc}") from None
        else:
            plain = raw
        if not plain.strip():
            raise ApiError(400, f"Bad Request: {what} is empty")
        if len(plain) > limit:
            raise ApiError(400, "Bad Request: message is too long" if what == "message text"
                           else "Bad Request: message caption is too long")
        return plain

    def _store(self, chat: Chat, method: str, raw: str, plain: str, params: JSON,
               buttons: list[list[tuple[str, str]]], message_id: int | None = None, **extra: Any) -> JSON:
        message_id = message_id or next(self._message_ids[chat.id])
        message: JSON = {"message_id": message_id, "date": int(time.time()), "chat": chat.to_json(),
                         "from": self.bot_user.to_json(), "text": plain}
        if buttons:
            message["reply_markup"] = params["reply_markup"]
        replying = params.get("reply_parameters")
        if isinstance(replying, dict):
            replied = self.messages.get((chat.id, int(replying.get("message_id", 0))))
            if replied is not None:
                message["reply_to_message"] = replied
            elif not replying.get("allow_sending_without_reply"):
                raise ApiError(400, "Bad Request: message to be replied not found")
        self.messages[(chat.id, message_id)] = message
        thread = params.get("message_thread_id")
        if thread is not None:
            message["message_thread_id"] = int(thread)
            message["is_topic_message"] = True
        markup = params.get("reply_markup")
        self.sent.append(Sent(method, chat.id, message_id, plain, raw, buttons, time.monotonic(), **extra,
                              thread_id=int(thread) if thread is not None else None,
                              reply_to=message.get("reply_to_message", {}).get("message_id"),
                              force_reply=isinstance(markup, dict) and markup.get("force_reply") is True))
        return message

    async def _m_sendMessage(self, params: JSON) -> JSON:
        chat = self._chat(params)
        raw = str(params.get("text", ""))
        plain = self._text(raw, params.get("parse_mode"), 4096, "message text")
        buttons = self._markup(params)
        return self._store(chat, "sendMessage", raw, plain, params, buttons)

    async def _m_editMessageText(self, params: JSON) -> JSON:
        chat = self._chat(params)
        message_id = int(params.get("message_id", 0))
        old = self.messages.get((chat.id, message_id))
        if old is None or old["from"]["id"] != self.bot_user.id:
            raise ApiError(400, "Bad Request: message to edit not found")
        raw = str(params.get("text", ""))
        plain = self._text(raw, params.get("parse_mode"), 4096, "message text")
        buttons = self._markup(params)
        if plain == old["text"] and params.get("reply_markup") == old.get("reply_markup"):
            raise ApiError(400, "Bad Request: message is not modified: specified new message content and "
                                "reply markup are exactly the same as a current content and reply markup "
                                "of the message")
        return self._store(chat, "editMessageText", raw, plain, params, buttons, message_id)

    async def _m_sendDocument(self, params: JSON) -> JSON:
        chat = self._chat(params)
        document = params.get("document")
        if not isinstance(document, tuple):
            raise ApiError(400, "Bad Request: there is no document in the request")
        raw = str(params.get("caption", ""))
        plain = self._text(raw, params.get("parse_mode"), 1024, "caption") if raw else ""
        message = self._store(chat, "sendDocument", raw, plain, params, self._markup(params),
                              filename=document[0], content=document[1])
        message["document"] = {"file_id": f"doc{message['message_id']}", "file_unique_id": "u",
                               "file_name": document[0]}
        return message

    async def _m_sendLocation(self, params: JSON) -> JSON:
        return self._point(params, "sendLocation")

    async def _m_sendVenue(self, params: JSON) -> JSON:
        for name in ("title", "address"):
            if not str(params.get(name, "")).strip():
                raise ApiError(400, f"Bad Request: {name} is empty")
        return self._point(params, "sendVenue")

    def _point(self, params: JSON, method: str) -> JSON:
        chat = self._chat(params)
        try:
            latitude, longitude = float(params["latitude"]), float(params["longitude"])
        except (KeyError, TypeError, ValueError):
            raise ApiError(400, "Bad Request: wrong latitude or longitude") from None
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise ApiError(400, "Bad Request: wrong location")
        plain = str(params.get("title", ""))
        message = self._store(chat, method, plain, plain, params, [], location=(latitude, longitude))
        message["location"] = {"latitude": latitude, "longitude": longitude}
        if method == "sendVenue":
            message["venue"] = {"location": message["location"], "title": plain, "address": params["address"]}
        return message

    async def _m_sendPhoto(self, params: JSON) -> JSON:
        chat = self._chat(params)
        photo = params.get("photo")
        if not isinstance(photo, tuple):
            raise ApiError(400, "Bad Request: there is no photo in the request")
        if not photo[1].startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"RIFF")):
            raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
        raw = str(params.get("caption", ""))
        plain = self._text(raw, params.get("parse_mode"), 1024, "caption") if raw else ""
        message = self._store(chat, "sendPhoto", raw, plain, params, self._markup(params), filename=photo[0],
                              content=photo[1])
        message["photo"] = [{"file_id": f"photo{message['message_id']}", "file_unique_id": "p", "width": 1,
                             "height": 1}]
        return message

    async def _m_getFile(self, params: JSON) -> JSON:
        file_id = str(params.get("file_id", ""))
        if file_id not in self.files:
            raise ApiError(400, "Bad Request: invalid file_id")
        size = len(self.files[file_id])
        if size > 20 * 1024 * 1024:
            raise ApiError(400, "Bad Request: file is too big")
        return {"file_id": file_id, "file_unique_id": file_id, "file_size": size, "file_path": f"photos/{file_id}.jpg"}

    async def _file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        file_id = request.match_info["path"].rsplit("/", 1)[-1].removesuffix(".jpg")
        if file_id not in self.files:
            return web.Response(status=404)
        return web.Response(body=self.files[file_id], content_type="application/octet-stream")

    async def _m_answerCallbackQuery(self, params: JSON) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        query = self._callbacks.get(query_id)
        if query is None or query_id in self.answered or time.monotonic() - query["at"] > 15:
            raise ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is "
                                "invalid")
        if len(str(params.get("text", ""))) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self.answered[query_id] = params
        return True

    @staticmethod
    def _admin(user: User) -> JSON:
        return {"status": "administrator", "user": user.to_json(), "can_be_edited": False,
                "is_anonymous": False, "can_manage_chat": True, "can_delete_messages": True,
                "can_manage_video_chats": True, "can_restrict_members": True,
                "can_promote_members": False, "can_change_info": True, "can_invite_users": True,
                "can_post_stories": False, "can_edit_stories": False, "can_delete_stories": False}

    async def _m_getChatAdministrators(self, params: JSON) -> list[JSON]:
        chat = self._chat(params)
        if chat.type == "private":
            raise ApiError(400, "Bad Request: there are no administrators in the private chat")
        return [self._admin(self.users[user_id]) for user_id in sorted(chat.admins) if user_id in self.users]

    async def _m_getChatMember(self, params: JSON) -> JSON:
        chat = self._chat(params)
        user_id = int(params.get("user_id", 0))
        user = self.users.get(user_id)
        if user is None:
            raise ApiError(400, "Bad Request: user not found")
        if user_id in chat.admins:
            return self._admin(user)
        if user_id in chat.members or chat.type == "private":
            return {"status": "member", "user": user.to_json()}
        return {"status": "left", "user": user.to_json()}

    async def _m_getChat(self, params: JSON) -> JSON:
        chat = self._chat(params)
        return {**chat.to_json(), "accent_color_id": 0, "max_reaction_count": 11}
