"""Runs the real application (core + polls + Matrix adapter) as a bot account on the test Synapse."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from nio import RoomCreateResponse, RoomMemberEvent

from adapters.matrix import MatrixAdapter
from bot.app import App
from bot.config import Settings, load_settings
from tests.synapse.server import SynapseServer
from tests.synapse.users import PASSWORD, MatrixUser


def bot_settings(synapse: SynapseServer, state_dir: Path, localpart: str, **extra: str) -> Settings:
    environ = {
        "INTERLINK_STATE_DIR": str(state_dir),
        "INTERLINK_DATABASE_URL": f"sqlite+aiosqlite:///{state_dir / 'interlink.db'}",
        "INTERLINK_SECRET": "matrix-tests-secret-0123456789",
        "INTERLINK_HTTP_PORT": "0",
        "INTERLINK_MATRIX_HOMESERVER": synapse.url,
        "INTERLINK_MATRIX_USER": f"@{localpart}:{synapse.server_name}",
        "INTERLINK_MATRIX_PASSWORD": PASSWORD,
        "INTERLINK_CONFIG": str(state_dir / "none.toml"),
        **{f"INTERLINK_MATRIX_{k.upper()}": v for k, v in extra.items()},
    }
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "none.toml").write_text("")
    return load_settings(environ=environ)


@asynccontextmanager
async def running_bot(
    synapse: SynapseServer, state_dir: Path, localpart: str, **extra: str
) -> AsyncIterator[tuple[App, MatrixAdapter]]:
    """The whole application with only the Matrix adapter, until the block ends (a clean stop)."""
    settings = bot_settings(synapse, state_dir, localpart, **extra)
    adapter = MatrixAdapter.from_settings(settings)
    assert adapter is not None
    app = App(settings, adapters=[adapter], http=False)
    await app.start()
    try:
        await asyncio.wait_for(adapter.synced.wait(), 20)
        yield app, adapter
    finally:
        await app.stop()


async def room_with_bot(owner: MatrixUser, bot_id: str, *others: MatrixUser, direct: bool = False,
                        encrypted: bool = False) -> str:
    """``owner`` creates a room, invites the bot and ``others``; returns once the bot has joined."""
    initial_state = []
    if encrypted:
        initial_state.append({"type": "m.room.encryption", "state_key": "",
                              "content": {"algorithm": "m.megolm.v1.aes-sha2"}})
    created = await owner.client.room_create(
        invite=[bot_id, *(o.user_id for o in others)], is_direct=direct, initial_state=initial_state,
    )
    assert isinstance(created, RoomCreateResponse), created
    for other in others:
        await other.join(created.room_id)
    await owner.wait_for(
        lambda e: isinstance(e, RoomMemberEvent) and e.state_key == bot_id and e.membership == "join",
        description="the bot joining",
    )
    return created.room_id
