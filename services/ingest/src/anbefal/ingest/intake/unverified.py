"""Deliveries that fail verification: anyone on the internet can send them, so they cost little.

A POST to `/v1/webhooks/{any tenant}/{any source}` that is not verified (an unknown tenant or
source, a wrong or stale signature, a body too large to verify) is answered 401 (or 413) without
an id, and leaves at most a sampled line in `ingest.unverified_deliveries`: tenant, source,
client address, reason, size, user agent and how many such deliveries it stands for; never the
body. One line per (tenant, source, client, reason) per `ingest_unverified_sample_s`, and no more
than `ingest_unverified_records_per_s` lines in all, so a flood of invented tenants writes a
trickle. Unverified traffic has its own buckets, per client address and per source; it never
spends the tenant's budget, which only verified deliveries use. Every one is counted in
`anbefal_ingest_unverified_deliveries_total{code}`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from fastapi.responses import JSONResponse
from prometheus_client import Counter
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anbefal.common.app import error_body
from anbefal.common.errors import ServiceError, TooManyRequests
from anbefal.common.logging import get_logger
from anbefal.common.lru import Lru
from anbefal.ingest.intake.ratelimit import RateLimiter
from anbefal.ingest.models import UnverifiedDelivery
from anbefal.ingest.rejected import repository
from anbefal.ingest.settings import IngestSettings

log = get_logger(__name__)

UNVERIFIED = Counter(
    "anbefal_ingest_unverified_deliveries_total",
    "Webhook deliveries that failed verification (unknown source, bad signature, too large)",
    ["code"],
)

SampleKey = tuple[str, str, str, str]


@dataclass(frozen=True)
class Arrival:
    """What is known of a delivery that failed verification (never its body)."""

    tenant: str
    source: str
    client: str
    size: int
    user_agent: str | None


@dataclass
class _Sample:
    written_at: float
    pending: int = 0


class UnverifiedGate:
    def __init__(
        self, settings: IngestSettings, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        rate, burst = settings.ingest_unverified_rate_per_s, settings.ingest_unverified_burst
        self.by_client = RateLimiter(rate, burst, settings.ingest_memory_max_keys)
        self.by_source = RateLimiter(rate, burst, settings.ingest_memory_max_keys)
        self.lines = RateLimiter(
            settings.ingest_unverified_records_per_s, settings.ingest_unverified_records_burst, 1
        )
        self.sample_s = settings.ingest_unverified_sample_s
        self.sessionmaker = sessionmaker
        self._samples: Lru[SampleKey, _Sample] = Lru(settings.ingest_memory_max_keys)

    def take_sample(self, key: SampleKey, now: float) -> int:
        """How many deliveries a line written now stands for; 0: write none now."""
        sample = self._samples.get(key)
        if sample is None:
            sample = _Sample(written_at=now - self.sample_s)
            self._samples.put(key, sample)
        sample.pending += 1
        if now - sample.written_at < self.sample_s or self.lines.acquire("all", now):
            return 0
        count, sample.pending, sample.written_at = sample.pending, 0, now
        return count

    async def refuse(self, arrival: Arrival, refusal: ServiceError) -> JSONResponse:
        UNVERIFIED.labels(refusal.code).inc()
        wait = max(
            self.by_client.acquire(arrival.client),
            self.by_source.acquire(f"{arrival.tenant}/{arrival.source}"),
        )
        if wait:
            raise TooManyRequests(
                "too many deliveries that fail verification; retry later",
                headers={"Retry-After": RateLimiter.retry_after(wait)},
            )
        key = (arrival.tenant, arrival.source, arrival.client, refusal.code)
        count = self.take_sample(key, time.monotonic())
        if count:
            await self._write(arrival, refusal, count)
        return JSONResponse(
            error_body(refusal.code, refusal.message, refusal.details),
            refusal.status,
            headers=refusal.headers,
        )

    async def _write(self, arrival: Arrival, refusal: ServiceError, count: int) -> None:
        line = UnverifiedDelivery(
            tenant=arrival.tenant,
            source=arrival.source,
            client=arrival.client[:64],
            status_code=refusal.status,
            code=refusal.code,
            reason=refusal.message[:500],
            size=arrival.size,
            count=count,
            user_agent=(arrival.user_agent or "")[:200] or None,
        )
        try:
            async with self.sessionmaker() as session, session.begin():
                await repository.note_unverified(session, line)
        except (OSError, SQLAlchemyError) as exc:
            # Nothing is owed to an unverified sender; ops still have the log line and metric.
            log.warning("unverified delivery not noted", tenant=arrival.tenant, error=repr(exc))
        log.info(
            "unverified deliveries",
            tenant=arrival.tenant,
            source=arrival.source,
            client=arrival.client,
            code=refusal.code,
            count=count,
        )
