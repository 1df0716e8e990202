"""Webhook mode: served by the shared aiohttp app, secret checked, 2xx only after the update committed."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp

from tests.botapi import FakeBotAPI
from tests.net import free_port
from tests.telegram.harness import start_harness

SECRET = "webhook-secret_42"


async def test_webhook_rejects_missing_or_wrong_secret_and_processes_nothing(
    api: FakeBotAPI, tmp_path: Path
) -> None:
    port = free_port()
    hook = f"http://127.0.0.1:{port}/telegram/hook"
    async with start_harness(api, tmp_path, http=True, webhook_url=hook, webhook_secret=SECRET,
                             http_port=port):
        assert api.webhook_url == hook and api.webhook_secret == SECRET
        alice = api.user(401, "Alice")
        chat = api.private_chat(alice)
        forged = {"update_id": 1, "message": {"message_id": 1, "date": 0, "chat": chat.to_json(),
                                              "from": alice.to_json(), "text": "/poll Forged? | A | B",
                                              "entities": [{"type": "bot_command", "offset": 0, "length": 5}]}}
        body = json.dumps(forged)
        async with aiohttp.ClientSession() as session:
            async with session.post(hook, data=body) as response:
                assert response.status == 401
            for wrong in ("nope", SECRET + "x", ""):
                headers = {"X-Telegram-Bot-Api-Secret-Token": wrong}
                async with session.post(hook, data=body, headers=headers) as response:
                    assert response.status == 403
        # The real update, delivered by "Telegram" with the right secret, is handled; the forged one never.
        update_id = api.send_text(alice, chat, "/poll Real? | Yes | No")
        await api.wait_for(lambda: any(s.buttons for s in api.sent_to(chat.id)))
        polls = [s for s in api.sent_to(chat.id) if s.buttons]
        assert len(polls) == 1 and "Real?" in polls[0].text
        await api.wait_for(lambda: (update_id, 200) in api.webhook_deliveries)
        assert not [s for s in api.sent if "Forged" in s.text]

        # Telegram may deliver an update twice (our 2xx got lost): the second delivery changes nothing.
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
        again = json.dumps({"update_id": update_id, "message": api.messages[(chat.id, 1)]})
        sent_before = len(api.sent)
        async with aiohttp.ClientSession() as session:
            async with session.post(hook, data=again, headers=headers) as response:
                assert response.status == 200
        api.send_text(alice, chat, "/results 1")
        await api.wait_for(lambda: len(api.sent) > sent_before)
        assert len([s for s in api.sent_to(chat.id) if s.buttons]) == 1
