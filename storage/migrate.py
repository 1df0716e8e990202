"""Alembic migrations for the core and for every Interlinker that ships its own.

The core's versions live in ``storage/migrations/versions`` (branch ``core``); an Interlinker adds a
``migrations/`` folder of its own (branch named after it, depending on ``core``) and declares it on its
class, so adding one never touches the core. ``upgrade`` goes to all heads.

Most starts find the schema current already. That is checked first, from the scripts' ``revision``,
``down_revision`` and ``depends_on`` lines and the ``alembic_version`` table, so Alembic (with Mako and
Pygments: ~7 MiB resident for the life of the process and ~0.15 s) is imported only when there is something
to upgrade, or when a script is not in the plain form we write and Alembic must judge.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, func, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.engine import create_engine
from storage.sql import lock_key

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "alembic_version"
_LINKS = ("down_revision", "depends_on")


def alembic_config(version_dirs: Iterable[Path] = ()) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    locations = [str(p) for p in _version_locations(version_dirs)]
    config.set_main_option("version_locations", " ".join(locations))
    config.set_main_option("path_separator", "space")
    return config


def _version_locations(version_dirs: Iterable[Path]) -> list[Path]:
    return [MIGRATIONS / "versions", *version_dirs]


def _script_needs(path: Path) -> tuple[str, set[str]] | None:
    """A script's revision and the revisions it needs, read without running it; None if not plain literals."""
    values: dict[str, object] = {}
    for node in ast.parse(path.read_text(encoding="utf-8"), str(path)).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in ("revision", *_LINKS):
            try:
                values[target.id] = ast.literal_eval(value)
            except ValueError:
                return None
    revision = values.get("revision")
    if not isinstance(revision, str):
        return None
    needs: set[str] = set()
    for link in _LINKS:
        given = values.get(link)
        items = () if given is None else (given,) if isinstance(given, str) else given
        if not isinstance(items, tuple | list) or not all(isinstance(item, str) for item in items):
            return None
        needs.update(items)
    return revision, needs


def script_graph(version_dirs: Iterable[Path] = ()) -> dict[str, set[str]] | None:
    """Every revision of the scripts → the revisions it needs; None when Alembic must read them itself (a
    script that is not plain literals, a duplicate id, or a link by branch label or partial id)."""
    graph: dict[str, set[str]] = {}
    for directory in _version_locations(version_dirs):
        for path in sorted(directory.glob("*.py")):
            if path.name.startswith(("__init__", ".#")):  # Alembic skips them too
                continue
            found = _script_needs(path)
            if found is None or found[0] in graph:
                return None
            graph[found[0]] = found[1]
    if any(need not in graph for needs in graph.values() for need in needs):
        return None
    return graph


def applied_revisions(connection: Connection) -> list[str]:
    """What Alembic recorded as applied (its heads); none in a new database."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return []
    return list(connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars())


def is_current(graph: dict[str, set[str]], applied: Iterable[str]) -> bool:
    """Whether the applied heads (and what they need, transitively) cover every revision of the scripts.
    Alembic keeps only heads in its table, and not a head that another one depends on."""
    done: set[str] = set()
    todo = list(applied)
    while todo:
        revision = todo.pop()
        if revision in done:
            continue
        if revision not in graph:  # unknown to these scripts: Alembic says what is wrong
            return False
        done.add(revision)
        todo.extend(graph[revision])
    return bool(done) and done == set(graph)


async def upgrade(url: str, version_dirs: Iterable[Path] = (), engine: AsyncEngine | None = None) -> None:
    """Bring the database at ``url`` to the newest schema of the core and the given Interlinkers."""
    version_dirs = list(version_dirs)
    graph = script_graph(version_dirs)
    own = engine is None
    engine = engine or create_engine(url)
    try:
        async with engine.begin() as connection:
            if graph is not None and is_current(graph, await connection.run_sync(applied_revisions)):
                return
            if connection.dialect.name == "postgresql":  # two workers upgrading at once: one waits
                await connection.execute(select(func.pg_advisory_xact_lock(lock_key("migrations"))))
            config = alembic_config(version_dirs)

            def run(sync_connection: object) -> None:
                from alembic import command

                config.attributes["connection"] = sync_connection
                command.upgrade(config, "heads")

            await connection.run_sync(run)
    finally:
        if own:
            await engine.dispose()
