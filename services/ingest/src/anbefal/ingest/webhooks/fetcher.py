"""The fetch worker: thin webhooks (SurveyMonkey, Qualtrics) become answers here.

A job is claimed with FOR UPDATE SKIP LOCKED (several ingest copies share the queue), the answer
is read from the tool's API, published, and the job marked done in the same transaction that
held the claim. A failure backs off exponentially; after the last attempt the job is given up
and its story kept in `rejected` for ops. A crash between publish and commit fetches and
publishes again, which the answer's stable event id makes harmless.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import orjson
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anbefal.common.kafka import BrokerUnavailable, Publisher
from anbefal.common.logging import get_logger
from anbefal.common.worker import PollingWorker
from anbefal.ingest.intake.dedupe import DedupeStore
from anbefal.ingest.intake.pipeline import publish_answers, to_event
from anbefal.ingest.models import FetchJob
from anbefal.ingest.rejected import repository as rejected
from anbefal.ingest.settings import IngestSettings
from anbefal.ingest.sources import service as sources
from anbefal.ingest.sources.config import Source
from anbefal.ingest.webhooks import repository
from anbefal.ingest.webhooks.adapters import FETCHERS
from anbefal.ingest.webhooks.adapters.base import FetchRequest, Ignored, PayloadInvalid

log = get_logger(__name__)


class Fetcher:
    def __init__(
        self,
        settings: IngestSettings,
        sessionmaker: async_sessionmaker[AsyncSession],
        publisher: Publisher,
        dedupe: DedupeStore,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.settings = settings
        self.publisher = publisher
        self.dedupe = dedupe
        self.client = client or httpx.AsyncClient(timeout=settings.ingest_fetch_timeout_s)
        self.worker = PollingWorker(
            "fetcher", sessionmaker, self.step, poll_s=settings.ingest_fetch_poll_s
        )

    def backoff(self, attempts: int) -> timedelta:
        return timedelta(
            seconds=min(600.0, self.settings.ingest_fetch_backoff_s * 2 ** (attempts - 1))
        )

    async def step(self, session: AsyncSession) -> int:
        job = await repository.claim_fetch_job(session)
        if job is None:
            return 0
        bound = log.bind(tenant=job.tenant, source=job.source, trace_id=job.trace_id)
        source = await sources.load(session, job.tenant, job.source)
        error: str | None
        if source is None:
            error = f"source {job.source!r} no longer exists"
            permanent = True
        else:
            error, permanent = await self._fetch(job, source)
        job.attempts += 1
        if error is None:
            job.status, job.done_at, job.last_error = "done", datetime.now(UTC), None
            bound.info("fetched and published", response_id=job.response_id)
            return 1
        job.last_error = error
        if permanent or job.attempts >= self.settings.ingest_fetch_max_attempts:
            job.status = "failed"
            await rejected.store_rejected(
                session,
                tenant=job.tenant,
                source=job.source,
                status_code=422 if permanent else 502,
                reason=f"fetching response {job.response_id} failed: {error}",
                details=[{"field": "fetch", "message": error, "attempts": str(job.attempts)}],
                headers={},
                body=orjson.dumps({"survey_id": job.survey_id, "response_id": job.response_id}),
                verified=False,
            )
            bound.warning("fetch given up", error=error, attempts=job.attempts)
        else:
            job.next_attempt_at = datetime.now(UTC) + self.backoff(job.attempts)
            bound.info("fetch failed; will retry", error=error, attempts=job.attempts)
        return 1

    async def _fetch(self, job: FetchJob, source: Source) -> tuple[str | None, bool]:
        """(error, permanent): None when the answer is in Kafka (or there is none to publish)."""
        request = FetchRequest(survey_id=job.survey_id, response_id=job.response_id)
        try:
            parsed = await FETCHERS[source.tool].fetch(self.client, source, request)
        except PayloadInvalid as exc:
            return exc.message, exc.status != 200
        except httpx.HTTPStatusError as exc:
            code = exc.response.status_code
            # 4xx other than 408/429 will not heal by retrying (bad token, unknown response).
            permanent = 400 <= code < 500 and code not in (408, 429)
            return f"{source.tool} API answered {code}", permanent
        except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError) as exc:
            return f"{source.tool} API: {exc!r}", False
        if isinstance(parsed, Ignored):
            return None, False
        events = [
            to_event(source.tenant, item, job.created_at, source.event_tool) for item in parsed
        ]
        try:
            await publish_answers(self.dedupe, self.publisher, events, job.trace_id)
        except BrokerUnavailable as exc:
            return f"broker unavailable: {exc}", False
        return None, False
