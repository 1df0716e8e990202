"""Make ``tests.botapi`` and the project importable however pytest is launched (plain ``pytest`` too)."""

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

# ruff: noqa: E402
from collections.abc import AsyncIterator
from pathlib import Path as _Path

import pytest

from tests.botapi import FakeBotAPI
from tests.telegram.harness import Harness, start_harness


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as server:
        yield server


@pytest.fixture
async def harness(api: FakeBotAPI, tmp_path: _Path) -> AsyncIterator[Harness]:
    async with start_harness(api, tmp_path) as running:
        yield running
