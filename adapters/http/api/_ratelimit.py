"""Requests per API key: a token bucket per key, in this worker's memory.

Each worker enforces the limit on its own, so N workers behind a load balancer allow up to N times the
rate; a limit meant to protect the service from one runaway script needs no more precision than that, and
it costs no database write per request."""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    def __init__(self, per_minute: int, burst: int | None = None) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst or per_minute)
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str) -> float:
        """0 if ``key`` may make a request now, else the seconds to wait."""
        now = time.monotonic()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(self.burst, now)
            if len(self._buckets) > 10_000:  # forget idle keys rather than grow forever
                self._buckets = {k: b for k, b in self._buckets.items() if now - b.at < 600}
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate


__all__ = ["RateLimiter"]
