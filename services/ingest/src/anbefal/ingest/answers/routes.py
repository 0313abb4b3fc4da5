"""The generic API: our own format, bearer token; 202 only after the broker's ack."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from anbefal.common.app import validation_details
from anbefal.common.auth import Principal, Role
from anbefal.common.deps import TenantPath, allow
from anbefal.common.events import GENERIC_API
from anbefal.common.kafka import BrokerUnavailable
from anbefal.common.logging import get_logger
from anbefal.common.tracing import request_trace_id
from anbefal.ingest.answers import service
from anbefal.ingest.dependencies import IngestStateDep
from anbefal.ingest.intake.gate import BodyTooLarge, read_limited
from anbefal.ingest.intake.pipeline import publish_answers, to_event
from anbefal.ingest.schemas import Accepted

log = get_logger(__name__)
router = APIRouter(tags=["ingest"])

Ingester = Annotated[Principal, allow(Role.INGEST, Role.ADMIN)]


@router.post(
    "/v1/tenants/{tenant}/responses",
    status_code=202,
    response_model=Accepted,
    summary='Submit one survey answer, or up to 500 as {"responses": [...]}',
    description=(
        "Answers 202 only after Kafka acknowledged every accepted answer. The same "
        "`response_id` and `version` sent again is acknowledged as `duplicate` without a new "
        "event. In a batch each item has its own result: invalid items are refused (and kept "
        "for ops) while the valid ones are accepted, and the answer is then 207; if none is "
        "valid, 422. 429 with Retry-After over the tenant's rate; 503 with Retry-After: retry."
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
        207: {"model": Accepted, "description": "Some items of a batch were refused"},
        400: {"description": "Malformed JSON"},
        401: {"description": "Missing or invalid bearer token"},
        403: {"description": "Token for another tenant or role"},
        413: {"description": "Body over the size limit"},
        422: {"description": "Invalid fields; `details` names each"},
        429: {"description": "Over the tenant's rate; retry after `Retry-After` seconds"},
        503: {"description": "Kafka unavailable; retry after `Retry-After` seconds"},
    },
)
async def post_responses(
    tenant: TenantPath,
    request: Request,
    principal: Ingester,
    state: IngestStateDep,
) -> Response:
    intake = state.intake
    intake.check_rate(tenant)
    trace_id = request_trace_id(request.headers.get("x-request-id"))
    limit = intake.settings.max_body_bytes
    body = b""
    doc: Any = None

    async def reject(status: int, code: str, message: str, details: list[Any]) -> JSONResponse:
        return await intake.keep_rejected(
            tenant=tenant,
            source=GENERIC_API,
            status=status,
            code=code,
            message=message,
            details=details,
            request=request,
            body=body,
            verified=True,
            enps=service.holds_enps(doc),
        )

    try:
        body = await read_limited(request, limit)
    except BodyTooLarge as exc:
        body = exc.prefix
        return await reject(413, "body_too_large", f"body is over {limit} bytes", [])
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return await reject(400, "malformed_json", f"body is not valid JSON: {exc}", [])
    try:
        items, errors = service.validate_items(doc)
    except ValidationError as exc:
        body = orjson.dumps(service.kept_body(doc, []))
        return await reject(
            422,
            "invalid_response",
            "the answer has invalid fields",
            validation_details(exc.errors()),
        )
    valid = [item for item in items if item is not None]
    bad = [d for item_errors in errors for d in item_errors]
    body = orjson.dumps(service.kept_body(doc, items))
    if not valid:
        return await reject(422, "invalid_response", "the answer has invalid fields", bad)

    received_at = datetime.now(UTC)
    events = [to_event(tenant, item, received_at) for item in valid]
    try:
        outcomes = await publish_answers(
            state.dedupe, state.publisher, events, trace_id, sealer=state.sealer
        )
    except BrokerUnavailable as exc:
        log.warning(
            "broker unavailable; answered 503", tenant=tenant, trace_id=trace_id, error=str(exc)
        )
        return intake.broker_unavailable()
    results = service.item_results(items, errors, outcomes)
    rejected_id = None
    if bad:
        kept = await reject(422, "invalid_response", "some answers have invalid fields", bad)
        rejected_id = orjson.loads(kept.body).get("rejected_id")
    result = service.summary(results, rejected_id, trace_id)
    log.info(
        "responses accepted",
        tenant=tenant,
        trace_id=trace_id,
        new=result["new"],
        duplicates=result["duplicates"],
    )
    return Response(orjson.dumps(result), 207 if bad else 202, media_type="application/json")
