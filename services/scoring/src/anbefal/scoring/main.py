"""Scoring service: consumes answers into daily buckets and serves the scores API."""

from __future__ import annotations

from fastapi import FastAPI

from anbefal.common.app import Runtime, Wiring, create_service_app, service_consumer
from anbefal.common.app.privacy import export_router
from anbefal.common.outbox import OutboxRelay
from anbefal.common.retention import RetentionWorker
from anbefal.common.services import SCORING
from anbefal.scoring import handlers
from anbefal.scoring.answers_api.routes import router as answers_router
from anbefal.scoring.models import CONSUMER_TABLES, OUTBOX
from anbefal.scoring.privacy import export
from anbefal.scoring.privacy.retention import anonymisers
from anbefal.scoring.routes import router
from anbefal.scoring.score_events import ScoreEventScheduler
from anbefal.scoring.settings import ScoringSettings
from anbefal.scoring.state import ScoringState
from anbefal.scoring.themes.routes import router as themes_router


def wire(runtime: Runtime[ScoringSettings]) -> Wiring[ScoringState]:
    settings = runtime.settings
    relay = OutboxRelay(
        runtime.sessionmaker, runtime.publisher, OUTBOX, poll_s=settings.relay_poll_s
    )
    score_events = ScoreEventScheduler(
        runtime.sessionmaker,
        default_time_zone=settings.default_time_zone,
        default_k=settings.default_anonymity_k,
        interval_s=settings.scores_event_interval_s,
        poll_s=settings.scores_poll_s,
    )
    # A larger fetch: a batch's cost is mostly per transaction (begin, savepoint, offset,
    # commit), so 500 records spread over six partitions (about 80 per transaction) drain a
    # backlog several times slower than 500 per partition.
    consumer = service_consumer(
        runtime,
        SCORING,
        handlers.subscriptions(settings.default_time_zone, settings.keyring()),
        CONSUMER_TABLES,
        max_records=settings.consumer_max_records,
    )
    every = settings.retention_interval_s
    retention = RetentionWorker("scoring", runtime.sessionmaker, anonymisers(), interval_s=every)
    return Wiring(
        ScoringState(settings),
        consumers=[consumer],
        workers=[score_events.worker.run, relay.worker.run, retention.worker.run],
    )


def create_app(settings: ScoringSettings | None = None) -> FastAPI:
    return create_service_app(
        name="scoring",
        title="Anbefal scoring",
        description="Rolling NPS and eNPS per segment, with n and a 95% interval on every figure.",
        settings=settings or ScoringSettings(),
        routers=[
            router,
            answers_router,
            themes_router,
            export_router(SCORING.name, export.collect, OUTBOX),
        ],
        wire=wire,
    )
