"""``/api/v1``: the PA API, authenticated by officers' keys and described by OpenAPI 3.1."""

from adapters.http.api._openapi import document
from adapters.http.api._ratelimit import RateLimiter
from adapters.http.api._routes import LIMITER, routes

__all__ = ["LIMITER", "RateLimiter", "document", "routes"]
