"""Ingest's HTTP routes: verify, validate, publish, and answer 202 only after the broker's ack."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from anbefal.common import topics
from anbefal.common.app import error_body, validation_details
from anbefal.common.deps import PrincipalDep, PublisherDep, RuntimeDep, SessionDep, authorize
from anbefal.common.events import (
    TENANT_PATTERN,
    Owners,
    Respondent,
    Source,
    SurveyResponse,
    response_event_id,
)
from anbefal.common.kafka import TRACE_HEADER, BrokerUnavailable
from anbefal.common.logging import get_logger
from anbefal.ingest import repository
from anbefal.ingest.schemas import Accepted, BatchIn, ResponseIn
from anbefal.ingest.settings import IngestSettings

log = get_logger(__name__)
router = APIRouter(tags=["ingest"])

TenantPath = Annotated[str, Path(pattern=TENANT_PATTERN, description="Tenant slug")]
GENERIC_SOURCE = "api"


class BodyTooLarge(Exception):
    pass


async def read_limited(request: Request, limit: int) -> bytes:
    """The raw body, refusing to buffer more than `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


def to_event(tenant: str, item: ResponseIn, received_at: datetime) -> SurveyResponse:
    respondent_key = item.respondent.id or f"response:{item.response_id}"
    if item.kind == "enps":
        # DESIGN §6: ingest stores no name or contact details for employees.
        respondent = Respondent(key=respondent_key, locale=item.respondent.locale)
    else:
        respondent = Respondent(
            key=respondent_key,
            name=item.respondent.name,
            email=item.respondent.email,
            phone=item.respondent.phone,
            locale=item.respondent.locale,
            account_id=item.respondent.account_id,
        )
    return SurveyResponse(
        event_id=response_event_id(tenant, GENERIC_SOURCE, item.response_id),
        version=item.version,
        tenant=tenant,
        kind=item.kind,
        score=item.score,
        comment=item.comment or None,
        answered_at=item.answered_at,
        received_at=received_at,
        source=Source(tool=GENERIC_SOURCE, survey_id=item.survey_id, response_id=item.response_id),
        respondent=respondent,
        segments=dict(item.segments),
        owners=Owners(salesperson=item.owners.salesperson, director=item.owners.director),
    )


def parse_items(doc: Any) -> list[ResponseIn]:
    """One response, or `{"responses": [...]}`; raises ValidationError naming the bad fields."""
    if isinstance(doc, dict) and "responses" in doc:
        return BatchIn.model_validate(doc).responses
    return [ResponseIn.model_validate(doc)]


@router.post(
    "/v1/tenants/{tenant}/responses",
    status_code=202,
    response_model=Accepted,
    summary='Submit one survey answer, or up to 500 as {"responses": [...]}',
    description=(
        "Answers 202 only after Kafka acknowledged every answer. The same `response_id` sent "
        "again is harmless (it maps to the same event id). Invalid bodies get 422 naming each "
        "bad field and are kept for ops; 503 with Retry-After means: retry later."
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "oneOf": [
                            {"$ref": "#/components/schemas/ResponseIn"},
                            {"$ref": "#/components/schemas/BatchIn"},
                        ]
                    }
                }
            },
        }
    },
    responses={
        400: {"description": "Malformed JSON"},
        401: {"description": "Missing or invalid bearer token"},
        403: {"description": "Token for another tenant or role"},
        413: {"description": "Body over the size limit"},
        422: {"description": "Invalid fields; `details` names each"},
        503: {"description": "Kafka unavailable; retry after `Retry-After` seconds"},
    },
)
async def post_responses(
    tenant: TenantPath,
    request: Request,
    principal: PrincipalDep,
    session: SessionDep,
    publisher: PublisherDep,
    runtime: RuntimeDep,
) -> JSONResponse:
    authorize(principal, tenant, {"ingest", "admin"})
    settings = runtime.settings
    assert isinstance(settings, IngestSettings)
    trace_id = request.headers.get("x-request-id") or uuid.uuid4().hex
    bound = log.bind(tenant=tenant, trace_id=trace_id)
    try:
        body = await read_limited(request, settings.max_body_bytes)
    except BodyTooLarge:
        return JSONResponse(
            error_body("body_too_large", f"body is over {settings.max_body_bytes} bytes"), 413
        )

    async def reject(
        status: int, code: str, message: str, details: list[dict[str, Any]]
    ) -> JSONResponse:
        rejected_id = await repository.store_rejected(
            session,
            tenant=tenant,
            source=GENERIC_SOURCE,
            status_code=status,
            reason=message,
            details=details,
            headers=dict(request.headers),
            body=body,
        )
        bound.info("body rejected", status=status, rejected_id=rejected_id, details=details[:5])
        return JSONResponse(error_body(code, message, details), status)

    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return await reject(400, "malformed_json", f"body is not valid JSON: {exc}", [])
    try:
        items = parse_items(doc)
    except ValidationError as exc:
        return await reject(
            422,
            "invalid_response",
            "the answer has invalid fields",
            validation_details(exc.errors()),
        )

    received_at = datetime.now(UTC)
    events = [to_event(tenant, item, received_at) for item in items]
    try:
        headers = [(TRACE_HEADER, trace_id.encode())]
        await publisher.send_many(
            topics.RESPONSES, [(event.key, event.to_bytes(), headers) for event in events]
        )
    except BrokerUnavailable as exc:
        bound.warning("broker unavailable; answered 503", error=str(exc))
        return JSONResponse(
            error_body("broker_unavailable", "the answer was not stored; retry later"),
            503,
            headers={"Retry-After": str(settings.retry_after_s)},
        )
    bound.info("responses accepted", count=len(events))
    result = Accepted(
        accepted=len(events),
        results=[
            {"response_id": e.source.response_id, "event_id": str(e.event_id), "version": e.version}
            for e in events
        ],
        trace_id=trace_id,
    )
    return JSONResponse(result.model_dump(), 202)
