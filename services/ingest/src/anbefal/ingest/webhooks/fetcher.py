"""The fetch worker: thin webhooks (SurveyMonkey, Qualtrics) become answers here.

A job is leased in a short transaction (FOR UPDATE SKIP LOCKED, so several ingest copies share
the queue; the lease counts the attempt and makes the job due again only after the lease, in
case this copy dies). The fetch runs with no transaction open and no row locked, under a total
time cap, several at once (at most `ingest_fetch_per_tenant` of one tenant, so one tenant's slow
tool never holds up the others). A second short transaction records the outcome: done, retried
with exponential backoff, or given up and kept in `rejected` (the delivery as the tool sent it,
replayable: a replay queues a new fetch). A Qualtrics 404 within
`ingest_fetch_not_found_grace_s` of the delivery is retried: the answer is announced before it
can be read. A crash between publish and that commit fetches and publishes again, which the
answer's stable event id makes harmless.

What went wrong on the wire (a status, a refused address, a timeout) goes to the ops log and the
job's `last_error`; the tenant's rejected log only says that the fetch failed, so a source's
settings cannot be used to probe what answers where.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anbefal.common.kafka import BrokerUnavailable, Publisher
from anbefal.common.logging import get_logger
from anbefal.common.worker import PollingWorker
from anbefal.ingest.intake.dedupe import DedupeStore
from anbefal.ingest.intake.pipeline import publish_answers, to_event
from anbefal.ingest.intake.sealing import SharedSealer
from anbefal.ingest.rejected import repository as rejected
from anbefal.ingest.settings import IngestSettings
from anbefal.ingest.sources import service as sources
from anbefal.ingest.webhooks import repository
from anbefal.ingest.webhooks.adapters import FETCHERS
from anbefal.ingest.webhooks.adapters.base import FetchRequest, Ignored, PayloadInvalid
from anbefal.ingest.webhooks.egress import FetchFailed, VendorHttp

log = get_logger(__name__)


@dataclass(frozen=True)
class Lease:
    job_id: int
    attempts: int
    tenant: str
    source: str
    survey_id: str
    response_id: str
    trace_id: str
    created_at: datetime


@dataclass(frozen=True)
class Outcome:
    # None: the answer is in Kafka (or there is none to publish).
    error: str | None = None
    permanent: bool = False
    # What the tenant may read about it (never the wire's details).
    shown: str | None = None


class Fetcher:
    def __init__(
        self,
        settings: IngestSettings,
        sessionmaker: async_sessionmaker[AsyncSession],
        publisher: Publisher,
        dedupe: DedupeStore,
        sealer: SharedSealer,
        api: VendorHttp | None = None,
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.publisher = publisher
        self.dedupe = dedupe
        self.sealer = sealer
        self.api = api or VendorHttp(settings)
        self.keyring = settings.keyring()
        # A lease outlives the capped fetch, so a live copy's job is never taken from it.
        self.lease = timedelta(seconds=settings.ingest_fetch_total_s + 60)
        self._leased: list[Lease] = []
        self._inflight: Counter[str] = Counter()
        self._tasks: set[asyncio.Task[None]] = set()
        self.worker = PollingWorker(
            "fetcher",
            sessionmaker,
            self.lease_jobs,
            poll_s=settings.ingest_fetch_poll_s,
            after_commit=self._start_leased,
        )

    async def run(self, stop: asyncio.Event) -> None:
        try:
            await self.worker.run(stop)
        finally:
            for task in self._tasks:
                task.cancel()  # their leases run out and another copy takes the jobs
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self.api.aclose()

    def backoff(self, attempts: int) -> timedelta:
        return timedelta(
            seconds=min(600.0, self.settings.ingest_fetch_backoff_s * 2 ** (attempts - 1))
        )

    async def lease_jobs(self, session: AsyncSession) -> int:
        """As many due jobs as there are free fetch slots, within each tenant's share."""
        self._leased = []  # a rolled-back step's leases were never taken
        taken = Counter(self._inflight)
        free = self.settings.ingest_fetch_concurrency - sum(taken.values())
        while free > 0:
            full = [t for t, n in taken.items() if n >= self.settings.ingest_fetch_per_tenant]
            job = await repository.lease_fetch_job(session, lease=self.lease, skip_tenants=full)
            if job is None:
                break
            self._leased.append(
                Lease(
                    job.id,
                    job.attempts,
                    job.tenant,
                    job.source,
                    job.survey_id,
                    job.response_id,
                    job.trace_id,
                    job.created_at,
                )  # fmt: skip
            )
            taken[job.tenant] += 1
            free -= 1
        return len(self._leased)

    def _start_leased(self) -> None:
        leased, self._leased = self._leased, []
        for lease in leased:
            self._inflight[lease.tenant] += 1
            task = asyncio.create_task(self._work(lease))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _work(self, lease: Lease) -> None:
        bound = log.bind(tenant=lease.tenant, source=lease.source, trace_id=lease.trace_id)
        try:
            outcome = await self._attempt(lease)
            async with self.sessionmaker() as session, session.begin():
                await self._record(session, lease, outcome)
        except Exception as exc:  # the lease runs out and the job is tried again
            bound.exception("fetch not recorded; will retry", error=repr(exc))
        finally:
            self._inflight[lease.tenant] -= 1
            if self._inflight[lease.tenant] <= 0:
                del self._inflight[lease.tenant]
            self.worker.wake()

    async def _attempt(self, lease: Lease) -> Outcome:
        async with self.sessionmaker() as session:  # closed before anything is sent
            source = await sources.load(session, self.keyring, lease.tenant, lease.source)
        if source is None:
            message = f"source {lease.source!r} no longer exists"
            return Outcome(message, permanent=True, shown=message)
        request = FetchRequest(survey_id=lease.survey_id, response_id=lease.response_id)
        try:
            async with asyncio.timeout(self.settings.ingest_fetch_total_s):
                parsed = await FETCHERS[source.tool].fetch(self.api, source, request)
        except PayloadInvalid as exc:  # the answer itself, as the tenant's tool holds it
            return Outcome(exc.message, permanent=exc.status != 200, shown=exc.message)
        except FetchFailed as exc:
            if exc.status == 404 and self._not_readable_yet(source.tool, lease):
                return Outcome(f"{exc.detail} (not readable yet; asked again)")
            return Outcome(exc.detail, permanent=exc.permanent)
        except TimeoutError:
            return Outcome(f"no answer within {self.settings.ingest_fetch_total_s:g} s")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return Outcome(f"{source.tool} API: {exc!r}")
        if isinstance(parsed, Ignored):
            return Outcome()
        events = [
            to_event(source.tenant, item, lease.created_at, source.event_tool) for item in parsed
        ]
        try:
            await publish_answers(
                self.dedupe, self.publisher, events, lease.trace_id, sealer=self.sealer
            )
        except BrokerUnavailable as exc:
            return Outcome(f"broker unavailable: {exc}")
        return Outcome()

    def _not_readable_yet(self, tool: str, lease: Lease) -> bool:
        age = (datetime.now(UTC) - lease.created_at).total_seconds()
        return FETCHERS[tool].not_found_while_new and (
            age < self.settings.ingest_fetch_not_found_grace_s
        )

    async def _record(self, session: AsyncSession, lease: Lease, outcome: Outcome) -> None:
        bound = log.bind(tenant=lease.tenant, source=lease.source, trace_id=lease.trace_id)
        job = await repository.leased_job(session, lease.job_id, lease.attempts)
        if job is None:
            bound.warning("fetch lease lost to another copy", job_id=lease.job_id)
            return
        if outcome.error is None:
            job.status, job.done_at, job.last_error = "done", datetime.now(UTC), None
            job.next_attempt_at = datetime.now(UTC)
            bound.info("fetched and published", response_id=job.response_id)
            return
        job.last_error = outcome.error
        if not (outcome.permanent or job.attempts >= self.settings.ingest_fetch_max_attempts):
            job.next_attempt_at = datetime.now(UTC) + self.backoff(job.attempts)
            bound.info("fetch failed; will retry", error=outcome.error, attempts=job.attempts)
            return
        job.status = "failed"
        shown = outcome.shown or (
            "the answer could not be read from the survey tool's API; ops find why in "
            f"ingest's log under trace id {lease.trace_id}"
        )
        # The delivery as the tool sent it, verified on arrival: replaying it queues a new
        # fetch. A job queued before jobs kept their delivery leaves only its ids.
        ids = orjson.dumps({"survey_id": job.survey_id, "response_id": job.response_id})
        await rejected.store_rejected(
            session,
            tenant=job.tenant,
            source=job.source,
            status_code=422 if outcome.permanent else 502,
            reason=f"fetching response {job.response_id} failed: {shown}",
            details=[{"field": "fetch", "message": shown, "attempts": str(job.attempts)}],
            headers=job.headers or {},
            body=ids if job.body is None else job.body,
            verified=job.body is not None,
        )
        bound.warning("fetch given up", error=outcome.error, attempts=job.attempts)
