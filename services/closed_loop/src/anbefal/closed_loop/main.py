"""closed_loop service: answers in, decided actions out through the outbox."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI

from anbefal.closed_loop import handlers
from anbefal.closed_loop.models import CONSUMER_TABLES
from anbefal.closed_loop.relay import OutboxRelay
from anbefal.closed_loop.routes import router
from anbefal.closed_loop.settings import ClosedLoopSettings
from anbefal.common import topics
from anbefal.common.app import Runtime, WorkerFn, create_service_app
from anbefal.common.kafka import ConsumerLoop

GROUP_NAME = "closed-loop"


def _relay(runtime: Runtime) -> OutboxRelay:
    relay = runtime.extras.get("relay")
    if relay is None:
        settings = runtime.settings
        assert isinstance(settings, ClosedLoopSettings)
        relay = OutboxRelay(
            runtime.sessionmaker,
            runtime.publisher,
            poll_s=settings.relay_poll_s,
            batch=settings.relay_batch,
        )
        runtime.extras["relay"] = relay
    assert isinstance(relay, OutboxRelay)
    return relay


def consumers(runtime: Runtime) -> Sequence[ConsumerLoop]:
    return [
        ConsumerLoop(
            group_id=f"{runtime.settings.group_prefix}-{GROUP_NAME}",
            session_timeout_ms=runtime.settings.consumer_session_timeout_ms,
            topic_names=[topics.RESPONSES, topics.TENANTS],
            bootstrap=runtime.settings.kafka_bootstrap,
            sessionmaker=runtime.sessionmaker,
            tables=CONSUMER_TABLES,
            handler=handlers.handle,
            publisher=runtime.publisher,
            after_commit=_relay(runtime).wake,
        )
    ]


def workers(runtime: Runtime) -> Sequence[WorkerFn]:
    return [_relay(runtime).run]


def create_app(settings: ClosedLoopSettings | None = None) -> FastAPI:
    return create_service_app(
        name="closed_loop",
        title="Anbefal closed loop",
        description="Routing rules: every answer gets the follow-up it deserves.",
        settings=settings or ClosedLoopSettings(),
        routers=[router],
        consumers=consumers,
        workers=workers,
    )
