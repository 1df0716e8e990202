"""Start-up loads what the configuration needs and nothing more (issue 8): no Matrix libraries without Matrix,
no Alembic when the schema is current; and the quick schema check agrees with Alembic on both databases."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from alembic import command

from bot.app import App
from bot.config import Settings
from storage.migrate import alembic_config, applied_revisions, is_current, script_graph

ROOT = Path(__file__).resolve().parents[1]
POLLS = ROOT / "interlinkers" / "polls" / "migrations"
LOADED = "import sys; print(*(name in sys.modules for name in ('nio', 'telegram', 'alembic')))"


def _python(code: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "none.toml").touch()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("INTERLINK_")}
    environ.update({"INTERLINK_CONFIG": str(tmp_path / "none.toml"), "INTERLINK_STATE_DIR": str(tmp_path / "var"),
                    "INTERLINK_SECRET": "test-secret-0123456789abcdef", **env})
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environ, cwd=ROOT,
                          timeout=60, check=False)


ADAPTERS = f"""
from bot.app import configured_adapters
from bot.config import load_settings
print(*(adapter.platform for adapter in configured_adapters(load_settings())))
{LOADED}
"""


def test_only_a_configured_network_loads_its_library(tmp_path: Path) -> None:
    telegram = _python(ADAPTERS, tmp_path, INTERLINK_TELEGRAM_TOKEN="123:abc")
    assert telegram.stdout.split("\n")[:2] == ["telegram", "False True False"], telegram.stderr
    neither = _python(ADAPTERS, tmp_path)
    assert neither.stdout.split("\n")[:2] == ["", "False False False"], neither.stderr


def test_a_configured_network_without_its_library_stops_the_start_in_one_line(tmp_path: Path) -> None:
    code = "import sys; sys.modules['nio'] = None; from bot.cli import main; raise SystemExit(main(['run']))"
    matrix = {"INTERLINK_MATRIX_HOMESERVER": "https://m.example.org", "INTERLINK_MATRIX_USER": "@b:example.org",
              "INTERLINK_MATRIX_PASSWORD": "p"}
    result = _python(code, tmp_path, **matrix)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "interlink: matrix is configured, but the Matrix adapter needs matrix-nio: "
        "pip install 'interlink-bot[matrix]'")


MIGRATE = f"""
import asyncio
from bot.app import App
from bot.config import load_settings
asyncio.run(App(load_settings(), http=False).migrate())
{LOADED}
"""


def test_alembic_is_imported_only_when_there_is_something_to_upgrade(database_url: str, tmp_path: Path) -> None:
    first = _python(MIGRATE, tmp_path, INTERLINK_DATABASE_URL=database_url)
    assert first.stdout.split() == ["False", "False", "True"], first.stderr
    restart = _python(MIGRATE, tmp_path, INTERLINK_DATABASE_URL=database_url)
    assert restart.stdout.split() == ["False", "False", "False"], restart.stderr


async def test_schema_check_agrees_with_alembic(database_url: str, make_settings: Callable[..., Settings]) -> None:
    """Alembic keeps only heads, and drops a head another branch depends on: the check follows both links."""
    app = App(make_settings(database_url), http=False)
    dirs = app._migration_dirs()  # every installed Interlinker's scripts, the polls' among them
    assert POLLS in dirs
    graph = script_graph(dirs)
    assert graph is not None and {"core_0001", "polls_0001"} <= set(graph)
    try:
        async with app.engine.connect() as connection:
            assert not is_current(graph, await connection.run_sync(applied_revisions))  # a new database
        await app.migrate()
        async with app.engine.connect() as connection:
            assert is_current(graph, await connection.run_sync(applied_revisions))

        def downgrade(connection: object) -> None:  # one step back on the polls branch
            config = alembic_config(dirs)
            config.attributes["connection"] = connection
            command.downgrade(config, "polls@-1")

        async with app.engine.begin() as connection:
            await connection.run_sync(downgrade)
            assert not is_current(graph, await connection.run_sync(applied_revisions))
        await app.migrate()  # the check sends it to Alembic, which upgrades it
        async with app.engine.connect() as connection:
            assert is_current(graph, await connection.run_sync(applied_revisions))
    finally:
        await app.engine.dispose()


def test_scripts_the_check_cannot_read_are_left_to_alembic(tmp_path: Path) -> None:
    (tmp_path / "x_0001.py").write_text('revision = "x_0001"\ndown_revision = None\ndepends_on = "core"\n')
    assert script_graph([tmp_path]) is None  # a branch label, not a revision id
    (tmp_path / "x_0001.py").write_text('revision = make_id()\ndown_revision = None\n')
    assert script_graph([tmp_path]) is None
    (tmp_path / "x_0001.py").write_text('revision: str = "x_0001"\ndown_revision: str | None = "core_0009"\n')
    graph = script_graph([tmp_path])
    assert graph is not None and graph["x_0001"] == {"core_0009"}
    assert not is_current(graph, ["core_0009"]) and is_current(graph, ["x_0001"])
