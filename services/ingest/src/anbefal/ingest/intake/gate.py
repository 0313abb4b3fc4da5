"""What ingest's routes share: the size-limited raw body, the rate limits, the kept rejections
(and the sampled lines of unverified deliveries) and the cached source lookup. One `Intake` per
process, built in the service's wiring."""

from __future__ import annotations

import asyncio
import functools
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anbefal.common.app import error_body, unavailable_response
from anbefal.common.crypto import Keyring
from anbefal.common.errors import TooManyRequests
from anbefal.common.logging import get_logger
from anbefal.common.lru import Lru
from anbefal.ingest.intake.deliveries import DeliveryLog
from anbefal.ingest.intake.ratelimit import RateLimiter
from anbefal.ingest.intake.unverified import UnverifiedGate
from anbefal.ingest.rejected import repository as rejected
from anbefal.ingest.settings import IngestSettings
from anbefal.ingest.sources import repository as sources
from anbefal.ingest.sources.config import Source

log = get_logger(__name__)


class BodyTooLarge(Exception):
    def __init__(self, prefix: bytes, size: int) -> None:
        self.prefix = prefix
        # As declared, or as far as it was read.
        self.size = size


async def read_limited(request: Request, limit: int) -> bytes:
    """The raw body, refusing to buffer more than `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(b"", int(declared))
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(b"".join(chunks)[:KEPT_PREFIX_BYTES], size)
        chunks.append(chunk)
    return b"".join(chunks)


# Of a body over the size limit, only its beginning is kept (enough to tell what it was).
KEPT_PREFIX_BYTES = 64 * 1024


@dataclass
class Intake:
    settings: IngestSettings
    limiter: RateLimiter
    sessionmaker: async_sessionmaker[AsyncSession]
    # Opens the sources' sealed secrets.
    keyring: Keyring
    unverified: UnverifiedGate = field(init=False)
    # How each configured source's deliveries were answered (its admin page).
    deliveries: DeliveryLog = field(init=False)
    # (tenant, source) -> (when it was read, the source or None): bounded, since unknown pairs
    # are cached too.
    _sources: Lru[tuple[str, str], tuple[float, Source | None]] = field(init=False)
    _lookups: dict[tuple[str, str], asyncio.Future[Source | None]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.unverified = UnverifiedGate(self.settings, self.sessionmaker)
        self._sources = Lru(self.settings.ingest_memory_max_keys)
        self.deliveries = DeliveryLog(self.settings.ingest_memory_max_keys)

    @classmethod
    def build(
        cls, settings: IngestSettings, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> Intake:
        limiter = RateLimiter(
            settings.ingest_tenant_rate_per_s,
            settings.ingest_tenant_burst,
            settings.ingest_memory_max_keys,
        )
        return cls(settings, limiter, sessionmaker, settings.keyring())

    def check_rate(self, tenant: str) -> None:
        wait = self.limiter.acquire(tenant)
        if wait:
            raise TooManyRequests(
                f"tenant {tenant} is over {self.settings.ingest_tenant_rate_per_s:g} requests/s",
                headers={"Retry-After": RateLimiter.retry_after(wait)},
            )

    async def source(self, tenant: str, name: str) -> Source | None:
        """The source's configuration, cached briefly (one lookup per copy every few seconds).

        When the entry expires, the requests in flight share one lookup: under load, a lookup
        each costs about 5 % of ingest's CPU on single webhooks."""
        key = (tenant, name)
        cached = self._sources.get(key)
        if (
            cached is not None
            and time.monotonic() - cached[0] < self.settings.ingest_source_cache_s
        ):
            return cached[1]
        lookup = self._lookups.get(key)
        if lookup is None:
            lookup = self._lookups[key] = asyncio.ensure_future(self._load(tenant, name))
            lookup.add_done_callback(functools.partial(self._lookup_done, key))
        # shield: a caller that goes away must not cancel the others' lookup.
        return await asyncio.shield(lookup)

    async def _load(self, tenant: str, name: str) -> Source | None:
        async with self.sessionmaker() as session:
            source = await sources.load(session, self.keyring, tenant, name)
        if self._lookups.get((tenant, name)) is asyncio.current_task():
            # Not forgotten meanwhile (a lookup begun before an update must not cache the old).
            self._sources.put((tenant, name), (time.monotonic(), source))
        return source

    def _lookup_done(self, key: tuple[str, str], lookup: asyncio.Future[Source | None]) -> None:
        if self._lookups.get(key) is lookup:
            del self._lookups[key]

    def forget_source(self, tenant: str, name: str) -> None:
        self._sources.pop((tenant, name))
        self._lookups.pop((tenant, name), None)

    def unavailable(self, message: str, code: str = "unavailable") -> JSONResponse:
        """503 with the Retry-After survey tools honour: send it again."""
        return unavailable_response(message, code, self.settings.retry_after_s)

    def broker_unavailable(self) -> JSONResponse:
        # A record that timed out may still reach the broker from the producer's buffer once it
        # is back: "not stored" would be false. A retry is safe either way: the answer's event id
        # dedupes it.
        return self.unavailable(
            "the broker did not confirm the answer; it may not be stored: retry later (a retry is "
            "never counted twice)",
            "broker_unavailable",
        )

    async def keep_rejected(
        self,
        *,
        tenant: str,
        source: str,
        status: int,
        code: str,
        message: str,
        details: list[dict[str, Any]],
        request: Request,
        body: bytes,
        verified: bool,
        extra_headers: dict[str, str] | None = None,
        enps: bool = False,
    ) -> JSONResponse:
        """Store the refused body with its reason (committed before we answer), then answer.

        If it cannot be stored, the sender is asked to retry (503): a body is never dropped
        unrecorded just because the database is down."""
        try:
            async with self.sessionmaker() as session, session.begin():
                rejected_id = await rejected.store_rejected(
                    session,
                    tenant=tenant,
                    source=source,
                    status_code=status,
                    reason=message,
                    details=details,
                    headers=dict(request.headers),
                    body=body,
                    verified=verified,
                    enps=enps,
                )
        except (OSError, SQLAlchemyError) as exc:
            log.warning(
                "cannot keep a refused body; asked to retry", tenant=tenant, error=repr(exc)
            )
            return self.unavailable("the body could not be recorded; retry later")
        log.info(
            "body kept",
            tenant=tenant,
            source=source,
            status=status,
            code=code,
            rejected_id=rejected_id,
            details=details[:5],
        )
        content = error_body(code, message, details)
        content["rejected_id"] = rejected_id
        if status < 300:
            content = {"status": "ignored", "reason": message, "rejected_id": rejected_id}
        return JSONResponse(content, status, headers=extra_headers)
