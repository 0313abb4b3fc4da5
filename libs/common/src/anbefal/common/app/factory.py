"""The composition root every service shares: one FastAPI app factory and its lifespan.

The lifespan starts the engine, the producer, the service's consumer loops and background
workers, and stops them in reverse order on SIGTERM (uvicorn turns the signal into shutdown),
letting each consumer finish the batch in flight.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from fastapi import APIRouter, FastAPI
from fastapi_offline import FastAPIOffline

from anbefal.common import topics
from anbefal.common.app.errors import install_error_handlers
from anbefal.common.app.health import health_router
from anbefal.common.app.limits import RequestLimits
from anbefal.common.app.metrics_server import metrics_app, serve_metrics
from anbefal.common.app.middleware import MetricsMiddleware
from anbefal.common.app.runtime import Runtime, Wiring
from anbefal.common.db import create_engine, create_sessionmaker
from anbefal.common.gctune import tune_for_service
from anbefal.common.kafka import Publisher
from anbefal.common.logging import configure_logging, get_logger
from anbefal.common.services import service_named
from anbefal.common.settings import BaseServiceSettings

log = get_logger(__name__)

S = TypeVar("S", bound=BaseServiceSettings)


def create_service_app(
    *,
    name: str,
    title: str,
    description: str,
    settings: S,
    routers: Sequence[APIRouter],
    wire: Callable[[Runtime[S]], Wiring[Any]] | None = None,
    refuse_uploads: bool = True,
    upload_paths: Sequence[str] = (),
) -> FastAPI:
    """The service's app; `wire` builds its state, consumers and workers once the engine and
    the producer are up (without it: routes only, and no state). Routes reach the runtime as
    `app.state.runtime` and the state as `app.state.wiring.state`, each through a typed
    dependency. `refuse_uploads`: answer 415 to a multipart body carrying a file (every service
    but ingest, whose Jotform webhook is multipart), except at `upload_paths` (routes that take
    a file, such as an admin's CSV upload; still within the body limit)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(name, settings.log_level, settings.log_json)
        engine = create_engine(settings.database_url)
        publisher = Publisher(
            settings.kafka(),
            timeout=settings.produce_timeout_s,
            batch_timeout=settings.produce_batch_timeout_s,
            client_id=name,
            warm=[topic.name for topic in topics.ALL_TOPICS],
        )
        await publisher.start()
        runtime = Runtime(
            name=name,
            settings=settings,
            engine=engine,
            sessionmaker=create_sessionmaker(engine),
            publisher=publisher,
        )
        wiring = wire(runtime) if wire is not None else Wiring(None)
        app.state.runtime = runtime
        app.state.wiring = wiring
        stop = asyncio.Event()
        tasks = [asyncio.create_task(c.run(), name=c.group_id) for c in wiring.consumers]
        tasks += [asyncio.create_task(worker(stop)) for worker in wiring.workers]
        # Last, so the whole start-up heap is frozen out of the collector's sight.
        tune_for_service(settings.gc_young_threshold)
        metrics_port = settings.metrics_port
        if metrics_port is None:
            metrics_port = service_named(name).dev_metrics_port
        try:
            async with serve_metrics(
                metrics_app(runtime, wiring), settings.metrics_host, metrics_port
            ):
                log.info(
                    "service started",
                    consumers=[c.group_id for c in wiring.consumers],
                    metrics=f"{settings.metrics_host}:{metrics_port}",
                )
                yield
        finally:
            stop.set()
            for consumer in wiring.consumers:
                consumer.stop()
            done, pending = await asyncio.wait(tasks, timeout=20) if tasks else (set(), set())
            for task in pending:
                task.cancel()
            for task in done:
                if not task.cancelled() and task.exception() is not None:
                    log.error(
                        "background task failed", task=task.get_name(), error=repr(task.exception())
                    )
            await publisher.stop()
            await engine.dispose()
            log.info("service stopped")

    # /docs and /redoc load Swagger UI and ReDoc from the package, not a CDN: they work offline
    # and on networks that block third-party scripts.
    app = FastAPIOffline(title=title, description=description, version="0.1.0", lifespan=lifespan)
    app.add_middleware(
        RequestLimits,
        max_body_bytes=settings.http_max_body_bytes,
        refuse_uploads=refuse_uploads,
        upload_paths=frozenset(upload_paths),
    )
    app.add_middleware(MetricsMiddleware, service=name)
    install_error_handlers(app)
    app.include_router(health_router())
    for router in routers:
        app.include_router(router)
    return app
