"""Alembic migrations for the core and for every Interlinker that ships its own.

The core's versions live in ``storage/migrations/versions`` (branch ``core``); an Interlinker adds a
``migrations/`` folder of its own (branch named after it, depending on ``core``) and declares it on its
class, so adding one never touches the core. ``upgrade`` goes to all heads.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.engine import create_engine
from storage.sql import lock_key

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(version_dirs: Iterable[Path] = ()) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    locations = [str(MIGRATIONS / "versions"), *(str(p) for p in version_dirs)]
    config.set_main_option("version_locations", " ".join(locations))
    config.set_main_option("path_separator", "space")
    return config


async def upgrade(url: str, version_dirs: Iterable[Path] = (), engine: AsyncEngine | None = None) -> None:
    """Bring the database at ``url`` to the newest schema of the core and the given Interlinkers."""
    config = alembic_config(version_dirs)
    own = engine is None
    engine = engine or create_engine(url)
    try:
        async with engine.begin() as connection:
            if connection.dialect.name == "postgresql":  # two workers upgrading at once: one waits
                await connection.execute(select(func.pg_advisory_xact_lock(lock_key("migrations"))))

            def run(sync_connection: object) -> None:
                config.attributes["connection"] = sync_connection
                command.upgrade(config, "heads")

            await connection.run_sync(run)
    finally:
        if own:
            await engine.dispose()
