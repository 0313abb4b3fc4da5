"""A verified delivery's way on: through its tool's adapter, then out to Kafka, or into the
fetch queue for the thin webhooks. Shared by the webhook route and the replay of a kept body."""

from __future__ import annotations

import orjson
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import SQLAlchemyError

from anbefal.common.errors import ServiceError
from anbefal.common.kafka import BrokerUnavailable
from anbefal.common.logging import get_logger
from anbefal.ingest.intake.pipeline import publish_answers, to_event
from anbefal.ingest.rejected.repository import kept_headers
from anbefal.ingest.sources.config import Source
from anbefal.ingest.state import IngestState
from anbefal.ingest.webhooks import repository
from anbefal.ingest.webhooks.adapters import ADAPTERS
from anbefal.ingest.webhooks.adapters.base import Delivery, FetchRequest, Ignored, PayloadInvalid

log = get_logger(__name__)


async def process(
    state: IngestState, source: Source, delivery: Delivery, trace_id: str
) -> Response | ServiceError:
    """A verified delivery through its adapter and out to Kafka (or the fetch queue); or why
    it does not become an answer (the caller keeps the body with that reason)."""
    adapter = ADAPTERS[source.tool]
    try:
        parsed = adapter.parse(delivery, source)
    except PayloadInvalid as exc:
        return exc
    if isinstance(parsed, Ignored):
        return ServiceError(200, "ignored", parsed.reason)
    if isinstance(parsed, FetchRequest):
        return await _queue_fetch(state, source, delivery, parsed, trace_id)
    events = [
        to_event(source.tenant, item, delivery.received_at, source.event_tool) for item in parsed
    ]
    try:
        outcomes = await publish_answers(
            state.dedupe, state.publisher, events, trace_id, sealer=state.sealer
        )
    except BrokerUnavailable as exc:
        log.warning(
            "broker unavailable; answered 503",
            tenant=source.tenant,
            trace_id=trace_id,
            error=str(exc),
        )
        return state.intake.broker_unavailable()
    new = any(o.status == "accepted" for o in outcomes)
    log.info(
        "webhook accepted", tenant=source.tenant, source=source.name, trace_id=trace_id, new=new
    )
    body = {
        "status": "accepted" if new else "duplicate",
        "results": [
            {
                "response_id": o.event.source.response_id,
                "event_id": str(o.event.event_id),
                "version": o.event.version,
                "status": o.status,
            }
            for o in outcomes
        ],
        "trace_id": trace_id,
    }
    return Response(orjson.dumps(body), 202 if new else 200, media_type="application/json")


async def _queue_fetch(
    state: IngestState, source: Source, delivery: Delivery, parsed: FetchRequest, trace_id: str
) -> Response:
    """202 once the fetch is queued; 200 `duplicate` for an answer already queued or fetched
    (the tool retried its delivery): no second job, so no second call to the tool's API."""
    try:
        async with state.sessionmaker() as session, session.begin():
            queued = await repository.add_fetch_job(
                session,
                tenant=source.tenant,
                source=source.name,
                survey_id=parsed.survey_id,
                response_id=parsed.response_id,
                trace_id=trace_id,
                body=delivery.body,
                headers=kept_headers(delivery.headers),
            )
    except (OSError, SQLAlchemyError) as exc:
        log.warning("cannot queue a fetch; asked to retry", error=repr(exc))
        return state.intake.unavailable("the webhook could not be recorded; retry later")
    if not queued.new:
        body = {"status": "duplicate", "fetch_job_id": queued.job_id, "trace_id": trace_id}
        return JSONResponse(body, 200)
    state.wake_fetcher()
    return JSONResponse(
        {"status": "queued", "fetch_job_id": queued.job_id, "trace_id": trace_id}, 202
    )
