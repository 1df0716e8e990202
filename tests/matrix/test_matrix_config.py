"""Bad Matrix settings stop the start with one line naming the key; absent ones leave Matrix off."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.matrix import MatrixAdapter
from bot.config import ConfigError, Settings, load_settings


def _settings(tmp_path: Path, **values: str) -> Settings:
    (tmp_path / "none.toml").write_text("")
    environ = {"INTERLINK_STATE_DIR": str(tmp_path), "INTERLINK_CONFIG": str(tmp_path / "none.toml"),
               **{f"INTERLINK_MATRIX_{k.upper()}": v for k, v in values.items()}}
    return load_settings(environ=environ)


def test_absent_homeserver_means_no_matrix(tmp_path: Path) -> None:
    assert MatrixAdapter.from_settings(_settings(tmp_path)) is None


@pytest.mark.parametrize(("values", "key"), [
    ({"homeserver": "matrix.example.org", "user": "@b:x", "password": "p"}, "INTERLINK_MATRIX_HOMESERVER"),
    ({"homeserver": "https://m.example.org", "password": "p"}, "INTERLINK_MATRIX_USER"),
    ({"homeserver": "https://m.example.org", "user": "@b:x"}, "INTERLINK_MATRIX_PASSWORD"),
    ({"homeserver": "https://m.example.org", "user": "@b:x", "password": "p", "allowed_inviters": "bob"},
     "INTERLINK_MATRIX_ALLOWED_INVITERS"),
    ({"homeserver": "https://m.example.org", "user": "@b:x", "password": "p", "organiser_power_level": "x"},
     "INTERLINK_MATRIX_ORGANISER_POWER_LEVEL"),
])
def test_wrong_settings_name_the_key(tmp_path: Path, values: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        MatrixAdapter.from_settings(_settings(tmp_path, **values))
