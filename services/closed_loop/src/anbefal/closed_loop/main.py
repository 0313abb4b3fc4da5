"""closed_loop service: answers in, decided actions out through the outbox."""

from __future__ import annotations

from functools import partial

from fastapi import FastAPI

from anbefal.closed_loop import action_store, handlers, owner_routes
from anbefal.closed_loop.models import CONSUMER_TABLES, OUTBOX
from anbefal.closed_loop.privacy import export
from anbefal.closed_loop.privacy.retention import anonymisers
from anbefal.closed_loop.routes import router
from anbefal.closed_loop.settings import ClosedLoopSettings
from anbefal.closed_loop.state import ClosedLoopState
from anbefal.common.app import Runtime, Wiring, create_service_app, service_consumer
from anbefal.common.app.privacy import export_router
from anbefal.common.datakeys import DataKeys
from anbefal.common.outbox import OutboxRelay
from anbefal.common.retention import RetentionWorker
from anbefal.common.services import CLOSED_LOOP
from anbefal.common.worker import PollingWorker


def wire(runtime: Runtime[ClosedLoopSettings]) -> Wiring[ClosedLoopState]:
    settings = runtime.settings
    keys = DataKeys(settings.keyring())
    relay = OutboxRelay(
        runtime.sessionmaker,
        runtime.publisher,
        OUTBOX,
        poll_s=settings.relay_poll_s,
        batch=settings.relay_batch,
    )
    consumer = service_consumer(
        runtime,
        CLOSED_LOOP,
        handlers.subscriptions(settings.closed_loop_debounce_s, keys, keyring=settings.keyring),
        CONSUMER_TABLES,
        max_records=settings.consumer_max_records,
    )

    releaser = PollingWorker(
        "closed-loop-releaser",
        runtime.sessionmaker,
        partial(handlers.release_due, keys=keys),
        poll_s=settings.release_poll_s,
    )
    interval_s = settings.retention_interval_s
    retention = RetentionWorker(
        "closed_loop", runtime.sessionmaker, anonymisers(), interval_s=interval_s
    )
    return Wiring(
        ClosedLoopState(settings),
        consumers=[consumer],
        workers=[relay.worker.run, releaser.run, retention.worker.run],
        on_scrape=[action_store.refresh_held_gauges],
    )


def create_app(settings: ClosedLoopSettings | None = None) -> FastAPI:
    return create_service_app(
        name="closed_loop",
        title="Anbefal closed loop",
        description="Routing rules: every answer gets the follow-up it deserves.",
        settings=settings or ClosedLoopSettings(),
        routers=[
            router,
            owner_routes.router,
            export_router(CLOSED_LOOP.name, export.collect, OUTBOX),
        ],
        wire=wire,
    )
