"""Ingest service: survey answers in over HTTP, out to `anbefal.responses.v1`."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from anbefal.common.app import create_service_app
from anbefal.ingest.routes import router
from anbefal.ingest.schemas import BatchIn, ResponseIn
from anbefal.ingest.settings import IngestSettings


def create_app(settings: IngestSettings | None = None) -> FastAPI:
    app = create_service_app(
        name="ingest",
        title="Anbefal ingest",
        description="Survey answers in: the generic API (and survey-tool webhooks).",
        settings=settings or IngestSettings(),
        routers=[router],
    )
    _document_raw_bodies(app)
    return app


def _document_raw_bodies(app: FastAPI) -> None:
    """The route reads the raw body itself (size limit, kept when rejected), so FastAPI does not
    know its schema; add the request models to the OpenAPI components by hand."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in (ResponseIn, BatchIn):
            doc = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(doc.pop("$defs", {}))
            components[model.__name__] = doc
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
