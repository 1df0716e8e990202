"""Install, configure, start and stop a throw-away Synapse bound to 127.0.0.1.

Synapse lives in its own venv (``.venv-synapse`` at the repo root) because it is large and pins many
libraries; it is installed on first use and reused afterwards, so ``make test`` works on a fresh clone.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.net import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
SYNAPSE_VENV = REPO_ROOT / ".venv-synapse"
SYNAPSE_REQUIREMENT = "matrix-synapse>=1.100,<2"
SERVER_NAME = "localhost"

# Tests send bursts from many users; the defaults would make them wait on rate limits.
_UNLIMITED = {"per_second": 10000, "burst_count": 100000}
OVERRIDES: dict[str, object] = {
    "enable_registration": True,
    "enable_registration_without_verification": True,
    "federation_domain_whitelist": [],
    "trusted_key_servers": [],
    "suppress_key_server_warning": True,
    "report_stats": False,
    "presence": {"enabled": False},
    "enable_metrics": False,
    "rc_message": _UNLIMITED,
    "rc_registration": _UNLIMITED,
    "rc_login": {"address": _UNLIMITED, "account": _UNLIMITED, "failed_attempts": _UNLIMITED},
    "rc_admin_redaction": _UNLIMITED,
    "rc_joins": {"local": _UNLIMITED, "remote": _UNLIMITED},
    "rc_joins_per_room": _UNLIMITED,
    "rc_3pid_validation": _UNLIMITED,
    "rc_invites": {"per_room": _UNLIMITED, "per_user": _UNLIMITED, "per_issuer": _UNLIMITED},
    "rc_third_party_invite": _UNLIMITED,
    "rc_key_requests": _UNLIMITED,
    "rc_media_create": _UNLIMITED,
}


def _synapse_python() -> Path:
    return SYNAPSE_VENV / "bin" / "python"


def _synapse_importable() -> bool:
    python = _synapse_python()
    if not python.exists():
        return False
    probe = subprocess.run([str(python), "-c", "import synapse.app.homeserver"], capture_output=True)
    return probe.returncode == 0


def ensure_synapse_installed() -> Path:
    """Create ``.venv-synapse`` and pip-install Synapse unless it is already usable; returns its python.

    A file lock keeps two concurrent test runs from installing into the same venv at once.
    """
    lock_path = REPO_ROOT / ".venv-synapse.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _synapse_importable():
            if SYNAPSE_VENV.exists():
                shutil.rmtree(SYNAPSE_VENV)
            subprocess.run([sys.executable, "-m", "venv", str(SYNAPSE_VENV)], check=True)
            subprocess.run(
                [str(_synapse_python()), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                 SYNAPSE_REQUIREMENT],
                check=True,
            )
    with contextlib.suppress(OSError):
        lock_path.unlink()
    return _synapse_python()


class SynapseServer:
    """One Synapse process with its config and database in a temporary directory."""

    def __init__(self, workdir: Path | None = None) -> None:
        self._own_dir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="synapse-"))
        self.port = 0
        self.server_name = SERVER_NAME
        self._process: subprocess.Popen[bytes] | None = None
        self._log = self.workdir / "stdout.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _generate_config(self, python: Path) -> Path:
        config = self.workdir / "homeserver.yaml"
        if not config.exists():
            subprocess.run(
                [str(python), "-m", "synapse.app.homeserver", "--server-name", self.server_name,
                 "--config-path", str(config), "--config-directory", str(self.workdir),
                 "--data-directory", str(self.workdir), "--generate-config", "--report-stats=no"],
                check=True, capture_output=True, cwd=self.workdir,
            )
            log_config = self.workdir / f"{self.server_name}.log.config"
            log_config.write_text(log_config.read_text().replace("level: INFO", "level: WARNING"))
        return config

    def start(self, timeout: float = 60.0) -> None:
        """Start Synapse and return once the client API answers."""
        python = ensure_synapse_installed()
        config = self._generate_config(python)
        self.port = free_port()
        overrides = dict(OVERRIDES)
        overrides["listeners"] = [{
            "port": self.port, "bind_addresses": ["127.0.0.1"], "type": "http", "tls": False,
            "x_forwarded": False, "resources": [{"names": ["client"], "compress": False}],
        }]
        override_path = self.workdir / "overrides.yaml"
        # JSON is valid YAML, and keeps us free of a yaml dependency.
        override_path.write_text(json.dumps(overrides))
        with open(self._log, "ab") as log:
            self._process = subprocess.Popen(
                [str(python), "-m", "synapse.app.homeserver", "-c", str(config), "-c", str(override_path)],
                stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir,
                env={**os.environ, "SYNAPSE_CACHE_FACTOR": "0.5"},
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"Synapse exited with {self._process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_matrix/client/versions", timeout=1) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"Synapse did not answer within {timeout} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self._log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> SynapseServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
