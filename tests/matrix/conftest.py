"""Matrix tests run against a real Synapse; its fixtures live in tests/synapse for other suites to share."""

import sys
from pathlib import Path

# `tests` is not an installed package; make `tests.synapse` importable however pytest was started.
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.synapse.fixtures import matrix_user, synapse  # noqa: E402

__all__ = ["matrix_user", "synapse"]
