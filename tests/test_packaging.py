"""A wheel built from the sources alone (what git holds: no compiled catalogs) carries all four catalogs."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_wheel_built_from_git_sources_has_every_compiled_catalog(tmp_path: Path) -> None:
    source = tmp_path / "source"
    files = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True, check=True).stdout
    for name in files.decode().split("\0"):
        if name and (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            (source / name).write_bytes((ROOT / name).read_bytes())
    assert not list(source.glob("locales/*/LC_MESSAGES/*.mo"))
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation", "--quiet",
         "-w", str(tmp_path / "dist")],
        capture_output=True, text=True, timeout=300,
    )
    assert built.returncode == 0, built.stderr
    [wheel] = (tmp_path / "dist").glob("interlink_bot-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for language in ("en", "it", "es", "lv"):
        assert f"locales/{language}/LC_MESSAGES/messages.mo" in names
