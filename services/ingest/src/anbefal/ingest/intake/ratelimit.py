"""Per-tenant rate limit: a token bucket per tenant in each ingest copy.

Requests over the rate get 429 with `Retry-After`; survey tools retry those (Typeform every 2-3
minutes, Formbricks and Standard Webhooks senders honour Retry-After), so nothing is lost. With N
copies behind a load balancer the tenant's effective rate is N times the setting.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(self, rate_per_s: float, burst: float) -> None:
        self.rate = rate_per_s
        self.burst = burst
        self._buckets: dict[str, _Bucket] = {}

    def acquire(self, tenant: str, now: float | None = None) -> float:
        """0 if the request may pass, else the seconds until a token is free."""
        now = time.monotonic() if now is None else now
        bucket = self._buckets.get(tenant)
        if bucket is None:
            bucket = self._buckets[tenant] = _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate

    @staticmethod
    def retry_after(wait_s: float) -> str:
        return str(max(1, math.ceil(wait_s)))
