"""A real Synapse homeserver for tests: installed once into ``.venv-synapse``, run on a free local port."""

from tests.synapse.server import SynapseServer, ensure_synapse_installed
from tests.synapse.users import MatrixUser, register_user

__all__ = ["MatrixUser", "SynapseServer", "ensure_synapse_installed", "register_user"]
