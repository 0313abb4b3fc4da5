"""Liveness and readiness (on the API port) and Prometheus metrics (on the internal metrics
port, `metrics_server.py`), the same on every service."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from anbefal.common import metrics
from anbefal.common.app.runtime import Runtime, ScrapeFn, Wiring
from anbefal.common.kafka import ConsumerLoop
from anbefal.common.logging import get_logger
from anbefal.common.settings import BaseServiceSettings

log = get_logger(__name__)


def health_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="Alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Kafka and PostgreSQL reachable, consumers not stuck")
    async def readyz(request: Request) -> JSONResponse:
        runtime: Runtime[BaseServiceSettings] = request.app.state.runtime
        wiring: Wiring[object] = request.app.state.wiring
        checks: dict[str, Any] = {"kafka": runtime.publisher.ready}
        try:
            async with asyncio.timeout(2.0), runtime.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            checks["postgres"] = True
        except Exception:
            checks["postgres"] = False
        for consumer in wiring.consumers:
            health = consumer.health
            checks[f"consumer:{consumer.group_id}"] = {
                "ok": health.running and not health.stalled(runtime.settings.consumer_stall_s),
                "lag": health.total_lag(),
                **consumer.state(),
            }
        ok = all(v["ok"] if isinstance(v, dict) else v for v in checks.values())
        return JSONResponse(
            {"status": "ready" if ok else "not ready", "checks": checks}, 200 if ok else 503
        )

    return router


def metrics_router() -> APIRouter:
    router = APIRouter(tags=["metrics"])

    @router.get("/metrics", summary="Prometheus metrics")
    async def metrics_endpoint(request: Request) -> Response:
        # Before start-up has finished there is nothing to count yet.
        runtime: Runtime[BaseServiceSettings] | None = getattr(request.app.state, "runtime", None)
        wiring: Wiring[object] | None = getattr(request.app.state, "wiring", None)
        if runtime is not None and wiring is not None:
            await _refresh_dead_letter_gauges(runtime.engine, wiring.consumers)
            await _refresh_service_gauges(runtime.engine, wiring.on_scrape)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


async def _refresh_dead_letter_gauges(
    engine: AsyncEngine, consumers: Sequence[ConsumerLoop]
) -> None:
    """Count each consumer group's unreplayed dead letters; a scrape must not hang on the DB."""
    if not consumers:
        return
    try:
        async with asyncio.timeout(1.0), engine.connect() as conn:
            for consumer in consumers:
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


async def _refresh_service_gauges(engine: AsyncEngine, on_scrape: Sequence[ScrapeFn]) -> None:
    if not on_scrape:
        return
    try:
        async with asyncio.timeout(1.0), engine.connect() as conn:
            for refresh in on_scrape:
                await refresh(conn)
    except Exception as exc:
        log.warning("cannot refresh service gauges", error=repr(exc))
