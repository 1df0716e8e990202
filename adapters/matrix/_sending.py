"""Sending to Matrix: replies with numbered options (and MSC3381 polls), edits, files. Transaction ids
come from the core's stable delivery id, so a send retried after a crash is recognised by the server
and never posted twice; rate limits are waited out (nio honours ``retry_after_ms``)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import uuid
from contextvars import ContextVar
from typing import Any

from nio import MatrixRoom, RoomCreateResponse, RoomPreset, RoomSendResponse, UploadResponse

from adapters.matrix import _render as render
from adapters.matrix._client import PLATFORM
from adapters.matrix._state import MatrixState
from bot.adapter import delivery_id
from bot.events import ChatRef, Edit, File, Location, Notice, Outgoing, Reply
from bot.i18n import _
from bot.text import shorten, split_text

log = logging.getLogger(__name__)
MAX_OPTIONS_REMEMBERED = 500

# The update being handled in this task, and how many sends it has made: the basis of transaction ids.
answering: ContextVar[tuple[str, list[int]] | None] = ContextVar("matrix_answering", default=None)


class Sending(MatrixState):
    """The sending half of ``MatrixAdapter``."""

    def direct_chat(self, user_id: str) -> ChatRef:
        """A user id as the chat: the room is found or made when something is sent (``_direct_room``)."""
        return ChatRef(PLATFORM, user_id, is_private=True)

    async def _direct_room(self, user_id: str) -> str:
        """The direct room with ``user_id``: the one made before (kept in the store), or a new one."""
        assert self._client is not None and self._core is not None
        found = self._direct_rooms.get(user_id) or await self._core.state.get(PLATFORM, f"dm:{user_id}")
        known = self._client.rooms.get(found) if found else None
        if known is not None and known.users and user_id not in known.users:
            found = None  # they left it: a message there would reach nobody, so a new room is opened
        if found is None:
            found = self._unrecorded_direct_room(user_id)
            if found is None:
                response = await self._client.room_create(is_direct=True, invite=[user_id],
                                                          preset=RoomPreset.trusted_private_chat)
                if not isinstance(response, RoomCreateResponse):
                    raise RuntimeError(f"Matrix refused a direct room with {user_id}: {response}")
                found = str(response.room_id)
                # nio sends only to rooms it knows, and learns of this one from a sync, which may be the
                # very loop waiting for this send: it is made known now (unencrypted, as created).
                self._client.rooms.setdefault(found, MatrixRoom(found, self._client.user_id, False))
            await self._core.state.set(PLATFORM, f"dm:{user_id}", found)
        self._direct_rooms[user_id] = found
        return found

    def _unrecorded_direct_room(self, user_id: str) -> str | None:
        """A room only the bot and ``user_id`` are in, unnamed: one we created just before a crash kept us
        from recording it. Reused, so a person never gets two private rooms with the bot."""
        assert self._client is not None
        for room in self._client.rooms.values():
            if (not room.is_named and user_id in room.users and room.member_count == 2
                    and self._client.user_id in room.users):
                return str(room.room_id)
        return None

    async def send(self, chat: ChatRef, message: Outgoing) -> str | None:
        if chat.chat_id.startswith("@"):  # someone alone (``direct_chat``): their direct room
            chat = ChatRef(PLATFORM, await self._direct_room(chat.chat_id), is_private=True)
        if isinstance(message, Reply):
            return await self._send_reply(chat.chat_id, message)
        if isinstance(message, Edit):
            return await self._send_edit(chat.chat_id, message)
        if isinstance(message, Notice):
            content = render.message_content(message.text)
            content["msgtype"] = "m.notice"  # bots' own convention: clients show it quieter, bots ignore it
            return await self._room_send(chat.chat_id, "m.room.message", content, self._txn_id())
        if isinstance(message, File):
            return await self._send_file(chat.chat_id, message)
        if isinstance(message, Location):
            return await self._room_send(chat.chat_id, "m.room.message", render.location_content(message),
                                         self._txn_id())
        raise TypeError(f"Matrix cannot show {type(message).__name__}")

    def _txn_id(self) -> str:
        """Same update, same position among its sends → same id, so a retry is recognised by Synapse."""
        stable = delivery_id()
        if stable is not None:
            return "il" + hashlib.sha256(stable.encode()).hexdigest()[:32]
        current = answering.get()
        if current is None:
            return uuid.uuid4().hex
        event_id, counter = current
        counter[0] += 1
        return "il" + hashlib.sha256(f"{event_id}/{counter[0]}".encode()).hexdigest()[:32]

    async def _room_send(self, room_id: str, event_type: str, content: dict[str, Any], txn_id: str) -> str:
        assert self._client is not None
        if self._client.olm and room_id not in self._client.rooms:
            # Just joined: nio must see the room (is it encrypted? who is in it?) before it can send there.
            for _attempt in range(100):
                await asyncio.sleep(0.1)
                if self._client is None or room_id in self._client.rooms:
                    break
            assert self._client is not None
        response = await self._client.room_send(room_id, event_type, content, tx_id=txn_id,
                                                ignore_unverified_devices=True)
        if not isinstance(response, RoomSendResponse):
            raise RuntimeError(f"Matrix refused a {event_type} in {room_id}: {response}")
        return str(response.event_id)

    @staticmethod
    def _fits(content_for: Any) -> Any:
        return lambda text: render.content_size(content_for(text)) <= render.CONTENT_BUDGET

    async def _send_reply(self, room_id: str, reply: Reply) -> str:
        txn = self._txn_id()
        hint = _("Answer with the number, or react with it.") if reply.buttons else ""
        fits = self._fits(render.message_content)
        fits_with_options = self._fits(lambda t: render.message_content(t, reply.buttons, hint))
        # Too large for one event: split, so every word is still delivered, over several messages.
        chunks = split_text(reply.text, fits)
        if not fits_with_options(chunks[-1]):
            chunks.append("")
        contents = [render.message_content(chunk) for chunk in chunks[:-1]]
        contents.append(render.message_content(chunks[-1], reply.buttons, hint))
        event_id = ""
        for index, content in enumerate(contents):
            event_id = await self._room_send(room_id, "m.room.message", content, f"{txn}.{index}")
        if reply.buttons:
            await self._remember_options(room_id, event_id, tuple(b.payload for b in reply.buttons))
        if reply.poll is not None and not reply.poll.closed and reply.poll.options:
            poll_id = await self._room_send(room_id, render.POLL_START,
                                            render.poll_start_content(reply.poll), f"{txn}.poll")
            self._polls[event_id] = poll_id
            assert self._core is not None
            await self._core.state.set(PLATFORM, f"poll:{event_id}", poll_id)
            if reply.key:
                self._poll_keys[poll_id] = reply.key
                await self._core.state.set(PLATFORM, f"pollkey:{poll_id}", reply.key)
        return event_id

    async def _remember_options(self, room_id: str, event_id: str, payloads: tuple[str, ...]) -> None:
        self._options[event_id] = payloads
        if len(self._options) > MAX_OPTIONS_REMEMBERED:
            self._options.pop(next(iter(self._options)))
        assert self._core is not None
        await self._core.state.set(PLATFORM, f"options:{event_id}", json.dumps(payloads))
        if self._room_options.get(room_id) != event_id:
            self._room_options[room_id] = event_id
            await self._core.state.set(PLATFORM, f"latest-options:{room_id}", event_id)

    async def _latest_options(self, room_id: str) -> str | None:
        """The message a bare number answers: kept in the store too, so "2" still votes after a restart."""
        if (event_id := self._room_options.get(room_id)) is None and self._core is not None:
            event_id = await self._core.state.get(PLATFORM, f"latest-options:{room_id}")
            if event_id is not None:
                self._room_options[room_id] = event_id
        return event_id

    async def _send_edit(self, room_id: str, edit: Edit) -> str | None:
        """One edit, as the core's sender chose it (it already coalesced the pending versions)."""
        target = edit.message_id
        if target is None:
            return None
        txn = self._txn_id()
        hint = _("Answer with the number, or react with it.") if edit.buttons else ""

        def content_for(text: str) -> dict[str, Any]:
            return render.edit_content(target, render.message_content(text, edit.buttons, hint))

        text = shorten(edit.text, self._fits(content_for))
        await self._room_send(room_id, "m.room.message", content_for(text), f"{txn}.edit")
        if edit.buttons:
            await self._remember_options(room_id, target, tuple(b.payload for b in edit.buttons))
        else:
            self._options.pop(target, None)
        if edit.poll is not None and edit.poll.closed:
            await self._end_poll(room_id, target, edit.text, txn)
        return target

    async def _end_poll(self, room_id: str, text_event_id: str, text: str, txn: str) -> None:
        assert self._core is not None
        poll_id = self._polls.pop(text_event_id, None) or await self._core.state.get(
            PLATFORM, f"poll:{text_event_id}"
        )
        if not poll_id:
            return
        end_text = shorten(text, self._fits(lambda t: render.poll_end_content(poll_id, t)))
        content = render.poll_end_content(poll_id, end_text)
        await self._room_send(room_id, render.POLL_END, content, f"{txn}.end")
        await self._core.state.delete(PLATFORM, f"poll:{text_event_id}")

    async def _send_file(self, room_id: str, file: File) -> str:
        assert self._client is not None
        room = self._client.rooms.get(room_id)
        encrypt = bool(room is not None and room.encrypted and self._client.olm)
        content_bytes = file.content
        upload, keys = await self._client.upload(
            lambda *_args: content_bytes, content_type=file.mime_type, filename=file.filename,
            encrypt=encrypt, filesize=len(content_bytes),
        )
        if not isinstance(upload, UploadResponse):
            raise RuntimeError(f"Matrix refused the upload of {file.filename}: {upload}")
        content: dict[str, Any] = {
            "msgtype": "m.image" if file.mime_type.startswith("image/") else "m.file",
            "body": file.caption or file.filename, "filename": file.filename,
            "info": {"mimetype": file.mime_type, "size": len(content_bytes)},
        }
        if encrypt and keys is not None:
            content["file"] = {"url": upload.content_uri, **keys}
        else:
            content["url"] = upload.content_uri
        return await self._room_send(room_id, "m.room.message", content, self._txn_id())
