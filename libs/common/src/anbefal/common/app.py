"""The composition root every service shares: one FastAPI app factory and its lifespan.

The lifespan starts the engine, the producer, the service's consumer loops and background
workers, and stops them in reverse order on SIGTERM (uvicorn turns the signal into shutdown),
letting each consumer finish the batch in flight.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select, text
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from anbefal.common import metrics
from anbefal.common.db import ConsumerTables, create_engine, create_sessionmaker
from anbefal.common.errors import ServiceError
from anbefal.common.gctune import tune_for_service
from anbefal.common.kafka import BatchHandler, ConsumerLoop, Publisher
from anbefal.common.logging import configure_logging, get_logger
from anbefal.common.settings import BaseServiceSettings

log = get_logger(__name__)


@dataclass
class Runtime:
    """What a running service holds; routes reach it through `request.app.state.runtime`."""

    name: str
    settings: BaseServiceSettings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    publisher: Publisher
    consumers: list[ConsumerLoop] = field(default_factory=list)
    on_scrape: list[Callable[[AsyncConnection], Awaitable[None]]] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)


WorkerFn = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


@dataclass
class Wiring:
    """What a service runs beside its HTTP routes: consumer loops and background workers."""

    consumers: list[ConsumerLoop] = field(default_factory=list)
    workers: list[WorkerFn] = field(default_factory=list)
    # Refresh gauges that are counted in the database, on each /metrics scrape.
    on_scrape: list[Callable[[AsyncConnection], Awaitable[None]]] = field(default_factory=list)


def service_consumer(
    runtime: Runtime,
    service: str,
    topic_names: Sequence[str],
    tables: ConsumerTables,
    handler: BatchHandler,
    after_commit: Callable[[], None] | None = None,
    max_records: int = 500,
) -> ConsumerLoop:
    """The service's consumer loop, configured from its settings (group `<prefix>-<service>`).

    `max_records`: records per poll (scoring takes more: its cost is per transaction)."""
    settings = runtime.settings
    return ConsumerLoop(
        group_id=f"{settings.group_prefix}-{service}",
        topic_names=topic_names,
        bootstrap=settings.kafka_bootstrap,
        sessionmaker=runtime.sessionmaker,
        tables=tables,
        handler=handler,
        publisher=runtime.publisher,
        session_timeout_ms=settings.consumer_session_timeout_ms,
        max_poll_interval_ms=settings.consumer_max_poll_interval_ms,
        watchdog_s=settings.consumer_watchdog_s,
        after_commit=after_commit,
        max_records=max_records,
    )


def create_service_app(
    *,
    name: str,
    title: str,
    description: str,
    settings: BaseServiceSettings,
    routers: Sequence[APIRouter],
    wire: Callable[[Runtime], Wiring] | None = None,
    on_startup: Callable[[Runtime], Awaitable[None]] | None = None,
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(name, settings.log_level, settings.log_json)
        engine = create_engine(settings.database_url)
        publisher = Publisher(
            settings.kafka_bootstrap, timeout=settings.produce_timeout_s, client_id=name
        )
        await publisher.start()
        runtime = Runtime(
            name=name,
            settings=settings,
            engine=engine,
            sessionmaker=create_sessionmaker(engine),
            publisher=publisher,
        )
        app.state.runtime = runtime
        if on_startup is not None:
            await on_startup(runtime)
        wiring = wire(runtime) if wire else Wiring()
        runtime.consumers = wiring.consumers
        runtime.on_scrape = wiring.on_scrape
        stop = asyncio.Event()
        tasks = [asyncio.create_task(c.run(), name=c.group_id) for c in runtime.consumers]
        tasks += [asyncio.create_task(worker(stop)) for worker in wiring.workers]
        # Last, so the whole start-up heap is frozen out of the collector's sight.
        tune_for_service(settings.gc_young_threshold)
        log.info("service started", consumers=[c.group_id for c in runtime.consumers])
        try:
            yield
        finally:
            stop.set()
            for consumer in runtime.consumers:
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

    app = FastAPI(title=title, description=description, version="0.1.0", lifespan=lifespan)
    app.add_middleware(_MetricsMiddleware, service=name)
    _install_error_handlers(app)
    app.include_router(health_router())
    for router in routers:
        app.include_router(router)
    return app


# What a client is told to wait before retrying a request the service could not serve now.
RETRY_AFTER_S = 5
# Exceptions that mean "the database (or the network to it) is not answering now".
_TRANSIENT: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    SQLAlchemyTimeoutError,
    OSError,
    TimeoutError,
)


def unavailable_response(
    message: str, code: str = "unavailable", retry_after_s: int = RETRY_AFTER_S
) -> JSONResponse:
    """503 with Retry-After: nothing was done, send the request again later."""
    return JSONResponse(error_body(code, message), 503, headers={"Retry-After": str(retry_after_s)})


def error_body(
    code: str, message: str, details: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or []}}


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _service_error(_: Request, exc: ServiceError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.code, exc.message, exc.details), exc.status, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            error_body(
                "invalid_request",
                "request parameters are invalid",
                validation_details(exc.errors()),
            ),
            422,
        )

    @app.exception_handler(HTTPException)
    async def _http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse(
            error_body(f"http_{exc.status_code}", str(exc.detail)),
            exc.status_code,
            headers=exc.headers,
        )

    # PostgreSQL unreachable, slow past the engine's timeouts, or its connection lost: a
    # transient failure, so 503 with Retry-After (clients and survey tools retry), not a 500
    # (fault suite F6 blackholed the database and saw 500s).
    async def _unavailable(_: Request, exc: Exception) -> JSONResponse:
        log.warning("database unavailable; answered 503", error=repr(exc))
        return unavailable_response("the database is unavailable; retry later")

    for transient in _TRANSIENT:
        app.add_exception_handler(transient, _unavailable)


def validation_details(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """pydantic errors as `{"field": "respondent.email", "message": ..., "type": ...}`."""
    details = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body",)]
        details.append(
            {
                "field": ".".join(loc) or "(body)",
                "message": err.get("msg", ""),
                "type": err.get("type", ""),
            }
        )
    return details


def health_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="Alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Kafka and PostgreSQL reachable, consumers not stuck")
    async def readyz(request: Request) -> JSONResponse:
        runtime: Runtime = request.app.state.runtime
        checks: dict[str, Any] = {"kafka": runtime.publisher.ready}
        try:
            async with asyncio.timeout(2.0), runtime.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            checks["postgres"] = True
        except Exception:
            checks["postgres"] = False
        for consumer in runtime.consumers:
            health = consumer.health
            checks[f"consumer:{consumer.group_id}"] = {
                "ok": health.running and not health.stalled(runtime.settings.consumer_stall_s),
                "lag": health.total_lag(),
            }
        ok = all(v["ok"] if isinstance(v, dict) else v for v in checks.values())
        return JSONResponse(
            {"status": "ready" if ok else "not ready", "checks": checks}, 200 if ok else 503
        )

    @router.get("/metrics", summary="Prometheus metrics")
    async def metrics_endpoint(request: Request) -> Response:
        runtime: Runtime | None = getattr(request.app.state, "runtime", None)
        if runtime is not None:
            await _refresh_dead_letter_gauges(runtime)
            await _refresh_service_gauges(runtime)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


async def _refresh_dead_letter_gauges(runtime: Runtime) -> None:
    """Count each consumer group's unreplayed dead letters; a scrape must not hang on the DB."""
    if not runtime.consumers:
        return
    try:
        async with asyncio.timeout(1.0), runtime.engine.connect() as conn:
            for consumer in runtime.consumers:
                table = consumer.tables.dead_letters
                pending = await conn.scalar(
                    select(func.count())
                    .select_from(table)
                    .where(table.c.group_id == consumer.group_id, table.c.replayed_at.is_(None))
                )
                metrics.DEAD_LETTERS_PENDING.labels(consumer.group_id).set(pending or 0)
    except Exception as exc:
        # The gauge keeps its last value; readiness reports PostgreSQL trouble.
        log.warning("cannot count dead letters", error=repr(exc))


async def _refresh_service_gauges(runtime: Runtime) -> None:
    if not runtime.on_scrape:
        return
    try:
        async with asyncio.timeout(1.0), runtime.engine.connect() as conn:
            for refresh in runtime.on_scrape:
                await refresh(conn)
    except Exception as exc:
        log.warning("cannot refresh service gauges", error=repr(exc))


class _MetricsMiddleware:
    """Request count and latency per route template (a pure ASGI middleware: cheap)."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            method = scope["method"]
            metrics.HTTP_REQUESTS.labels(self.service, method, path, str(status)).inc()
            metrics.HTTP_LATENCY.labels(self.service, method, path).observe(
                time.perf_counter() - started
            )
