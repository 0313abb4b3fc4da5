"""Scoring service: consumes answers into daily buckets and serves the scores API."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from fastapi import FastAPI

from anbefal.common import topics
from anbefal.common.app import Runtime, create_service_app
from anbefal.common.kafka import ConsumerLoop
from anbefal.scoring import handlers
from anbefal.scoring.models import CONSUMER_TABLES
from anbefal.scoring.routes import router
from anbefal.scoring.settings import ScoringSettings

GROUP_NAME = "scoring"


def consumers(runtime: Runtime) -> Sequence[ConsumerLoop]:
    return [
        ConsumerLoop(
            group_id=f"{runtime.settings.group_prefix}-{GROUP_NAME}",
            session_timeout_ms=runtime.settings.consumer_session_timeout_ms,
            topic_names=[topics.RESPONSES, topics.TENANTS],
            bootstrap=runtime.settings.kafka_bootstrap,
            sessionmaker=runtime.sessionmaker,
            tables=CONSUMER_TABLES,
            handler=partial(handlers.handle, default_time_zone=runtime.settings.default_time_zone),
            publisher=runtime.publisher,
        )
    ]


def create_app(settings: ScoringSettings | None = None) -> FastAPI:
    return create_service_app(
        name="scoring",
        title="Anbefal scoring",
        description="Rolling NPS and eNPS per segment, with n and a 95% interval on every figure.",
        settings=settings or ScoringSettings(),
        routers=[router],
        consumers=consumers,
    )
