"""Ingest service: survey answers in over HTTP, out to `anbefal.responses.v1`.

One folder per way in or job (`answers`: the generic API; `webhooks`: survey tools, their
adapters and the fetch worker; `sources` and `rejected`: the admin and ops APIs), each with its
routes, service and repository; what they share on the way to Kafka is in `intake`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.app import Runtime, Wiring, create_service_app, service_consumer
from anbefal.common.datakeys import DataKeys
from anbefal.common.db import asyncpg_dsn
from anbefal.common.logging import get_logger
from anbefal.common.outbox import OutboxRelay
from anbefal.common.retention import RetentionWorker
from anbefal.common.services import INGEST
from anbefal.common.worker import PollingWorker
from anbefal.ingest import handlers, retention
from anbefal.ingest.answers import routes as answers
from anbefal.ingest.intake.dedupe import DedupeStore
from anbefal.ingest.intake.gate import Intake
from anbefal.ingest.intake.sealing import SharedSealer
from anbefal.ingest.models import CONSUMER_TABLES, OUTBOX
from anbefal.ingest.privacy import routes as privacy
from anbefal.ingest.privacy.retention import anonymisers
from anbefal.ingest.rejected import routes as rejected
from anbefal.ingest.schemas import BatchIn, ResponseIn
from anbefal.ingest.settings import IngestSettings
from anbefal.ingest.sources import repository as sources_repository
from anbefal.ingest.sources import routes as sources
from anbefal.ingest.state import IngestState
from anbefal.ingest.webhooks import routes as webhooks
from anbefal.ingest.webhooks.fetcher import Fetcher

log = get_logger(__name__)


def wire(runtime: Runtime[IngestSettings]) -> Wiring[IngestState]:
    settings = runtime.settings
    dedupe = DedupeStore(asyncpg_dsn(settings.database_url))
    keyring = settings.keyring()
    sealer = SharedSealer(DataKeys(keyring), asyncpg_dsn(settings.database_url))
    fetcher = Fetcher(settings, runtime.sessionmaker, runtime.publisher, dedupe, sealer)

    async def prune(session: AsyncSession) -> int:
        # After a key rotation, the sources' secrets move to the current key here.
        await sources_repository.reseal(session, keyring)
        await retention.prune(
            session,
            seen_days=settings.ingest_dedupe_retention_days,
            unverified_days=settings.ingest_unverified_retention_days,
            deliveries_days=settings.ingest_delivery_log_retention_days,
        )
        return 0  # once per poll interval is plenty

    pruner = PollingWorker("pruner", runtime.sessionmaker, prune, poll_s=3600)
    # Erasure requests and ingest's own report leave through the outbox; ingest consumes the
    # requests (its own copies) and every service's report (the receipts).
    relay = OutboxRelay(runtime.sessionmaker, runtime.publisher, OUTBOX, poll_s=1.0)
    consumer = service_consumer(
        runtime,
        INGEST,
        handlers.subscriptions(settings.keyring),
        CONSUMER_TABLES,
    )
    every = settings.retention_interval_s
    expiry = RetentionWorker(
        "ingest", runtime.sessionmaker, anonymisers(settings), interval_s=every
    )
    intake = Intake.build(settings, runtime.sessionmaker)
    delivery_log = PollingWorker(
        "delivery-log",
        runtime.sessionmaker,
        intake.deliveries.flush,
        poll_s=settings.ingest_delivery_log_flush_s,
    )

    async def log_deliveries(stop: asyncio.Event) -> None:
        await delivery_log.run(stop)
        try:  # a clean stop writes what it counted since the last write
            await delivery_log.run_once()
        except (OSError, SQLAlchemyError) as exc:
            log.warning("the last delivery counts were not written", error=repr(exc))

    state = IngestState(
        settings=settings,
        sessionmaker=runtime.sessionmaker,
        publisher=runtime.publisher,
        dedupe=dedupe,
        sealer=sealer,
        intake=intake,
        wake_fetcher=fetcher.worker.wake,
    )
    return Wiring(
        state,
        consumers=[consumer],
        workers=[
            dedupe.run,
            sealer.run,
            fetcher.run,
            pruner.run,
            relay.worker.run,
            expiry.worker.run,
            log_deliveries,
        ],  # fmt: skip
    )


def baseline_router() -> APIRouter:
    """`bench/ingest.py`'s raw baseline: the same app and server, reading the body and answering
    202 with no verification, no Kafka, no database."""
    router = APIRouter(include_in_schema=False)

    @router.post("/v1/bench/baseline")
    async def baseline(request: Request) -> Response:
        await request.body()
        return Response(b'{"status":"accepted"}', 202, media_type="application/json")

    return router


def create_app(settings: IngestSettings | None = None) -> FastAPI:
    settings = settings or IngestSettings()
    routers = [answers.router, webhooks.router, sources.router, rejected.router, privacy.router]
    if settings.ingest_bench_baseline:
        routers.append(baseline_router())
    app = create_service_app(
        name="ingest",
        title="Anbefal ingest",
        description=(
            "Survey answers in: survey-tool webhooks (Typeform, Tally, Delighted, Formbricks, "
            "Jotform, SurveyMonkey, Qualtrics, Standard Webhooks), and the generic API."
        ),
        settings=settings,
        routers=routers,
        wire=wire,
        refuse_uploads=False,  # Jotform posts its answers as multipart/form-data
    )
    # First, so it is matched before FastAPI's routes (see webhooks/routes.py for why it is bare).
    app.router.routes.insert(0, webhooks.webhook_route)
    _document_raw_routes(app)
    return app


def _document_raw_routes(app: FastAPI) -> None:
    """The routes read the raw body themselves (size limit, kept when rejected), so FastAPI does
    not know their schemas: add the request models to the OpenAPI components, and the webhook
    POST (a bare Starlette route) from its unmounted declaration."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        declared = get_openapi(
            title=app.title, version=app.version, routes=webhooks.documentation.routes
        )
        for path, operations in declared["paths"].items():
            schema["paths"].setdefault(path, {}).update(operations)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(declared.get("components", {}).get("schemas", {}))
        for model in (ResponseIn, BatchIn):
            doc = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(doc.pop("$defs", {}))
            components[model.__name__] = doc
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
