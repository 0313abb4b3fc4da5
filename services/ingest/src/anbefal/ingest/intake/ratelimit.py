"""Token buckets: per tenant for verified traffic, per client address and per source for
deliveries that fail verification (`intake/unverified.py`), each copy of ingest its own.

Requests over the rate get 429 with `Retry-After`; survey tools retry those (Typeform every 2-3
minutes, Formbricks and Standard Webhooks senders honour Retry-After), so nothing is lost. With N
copies behind a load balancer the effective rate is N times the setting. The buckets live in a
bounded LRU: a key that has not been seen for a while is forgotten and starts again full, so
invented tenants or addresses cannot grow the table.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from anbefal.common.lru import Lru


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(self, rate_per_s: float, burst: float, max_keys: int = 100_000) -> None:
        self.rate = rate_per_s
        self.burst = burst
        self._buckets: Lru[str, _Bucket] = Lru(max_keys)

    def __len__(self) -> int:
        return len(self._buckets)

    def acquire(self, key: str, now: float | None = None) -> float:
        """0 if the request may pass, else the seconds until a token is free."""
        now = time.monotonic() if now is None else now
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(self.burst, now)
            self._buckets.put(key, bucket)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate

    @staticmethod
    def retry_after(wait_s: float) -> str:
        return str(max(1, math.ceil(wait_s)))
