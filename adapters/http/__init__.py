"""The PA-facing HTTP side: outcomes API, health check, and the shared app chat webhooks mount on."""

from adapters.http._server import HttpServer

__all__ = ["HttpServer"]
