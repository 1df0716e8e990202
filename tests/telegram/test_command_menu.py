"""Telegram's "/" menu lists what a member can do, in the language of the user's app."""

from __future__ import annotations

from pathlib import Path

from tests.botapi import FakeBotAPI
from tests.telegram.harness import start_harness


async def test_command_menu_in_every_language(api: FakeBotAPI, tmp_path: Path) -> None:
    async with start_harness(api, tmp_path):
        menus = api.command_menus
        assert set(menus) == {"", "en", "it", "es", "lv"}
        english = {c["command"]: c["description"] for c in menus["en"]}
        assert english["poll"] == "Start a poll (alone: I ask step by step)"
        assert english["vote"] == "Vote in a poll"
        assert {"help", "language", "cancel", "close", "results", "mydata", "forgetme"} <= set(english)
        italian = {c["command"]: c["description"] for c in menus["it"]}
        assert italian.keys() == english.keys() and italian["vote"] == "Vota in un sondaggio"
        assert menus[""] == menus["en"], "without a language, the configured default (English) is shown"
