"""pytest fixtures: one Synapse per test session, and a factory of registered users per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.synapse.server import SynapseServer
from tests.synapse.users import MatrixUser, register_user

UserFactory = Callable[..., Awaitable[MatrixUser]]


@pytest.fixture(scope="session")
def synapse() -> Iterator[SynapseServer]:
    """Started once per session (~1 s after the first install) and shared: users are unique per test."""
    server = SynapseServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest_asyncio.fixture
async def matrix_user(synapse: SynapseServer, tmp_path: Path) -> AsyncIterator[UserFactory]:
    """``await matrix_user("alice", e2e=False)`` registers a user; all are logged out of nio at teardown."""
    users: list[MatrixUser] = []

    async def make(prefix: str = "user", e2e: bool = False) -> MatrixUser:
        store = tmp_path / f"store-{prefix}-{len(users)}" if e2e else None
        user = await register_user(synapse.url, prefix, store_path=store)
        users.append(user)
        return user

    yield make
    for user in users:
        await user.close()
