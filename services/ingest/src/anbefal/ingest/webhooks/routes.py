"""`POST /v1/webhooks/{tenant}/{source}`: survey tools post here, each signed its own way.

Order matters: size limit, the source's configuration, the signature over the raw bytes, the
tenant's rate, and only then parsing. Refusals are 4xx with the reason; never 404 or 410
(Typeform and Standard Webhooks senders disable a hook on those). A verified delivery that is
refused keeps its body for ops (`rejected`, replayable); one that fails verification leaves at
most a sampled line without the body (`intake/unverified.py`) and spends no tenant budget.

The POST is served by a bare Starlette route (`webhook_route`), not a FastAPI one: under load,
FastAPI's per-request work (dependency solving, parameter validation, route matching through the
included routers) was a third of ingest's CPU per webhook (py-spy), and this route needs none of
it. FastAPI still documents it: `documentation` declares the same operation, unmounted, for the
OpenAPI schema (main.py).
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from sqlalchemy.exc import SQLAlchemyError
from starlette.routing import Route

from anbefal.common.deps import TenantPath
from anbefal.common.errors import ServiceError, Unauthenticated, Unprocessable
from anbefal.common.events import TENANT_PATTERN
from anbefal.common.logging import get_logger
from anbefal.common.tracing import request_trace_id
from anbefal.ingest.dependencies import get_state
from anbefal.ingest.intake.deliveries import outcome_of
from anbefal.ingest.intake.gate import BodyTooLarge, read_limited
from anbefal.ingest.intake.unverified import Arrival
from anbefal.ingest.sources.config import SOURCE_NAME_PATTERN
from anbefal.ingest.webhooks.adapters import ADAPTERS
from anbefal.ingest.webhooks.adapters.base import Delivery, SignatureInvalid
from anbefal.ingest.webhooks.service import process

log = get_logger(__name__)
router = APIRouter(tags=["webhooks"])
# The POST's declaration for the OpenAPI schema only; `webhook_route` serves it.
documentation = APIRouter(tags=["webhooks"])
WEBHOOK_PATH = "/v1/webhooks/{tenant}/{source}"
_TENANT = re.compile(TENANT_PATTERN)
_SOURCE = re.compile(SOURCE_NAME_PATTERN)


_PING_SUMMARY = "Reachability check some tools make when a hook is registered"
_PING_DESCRIPTION = (
    "SurveyMonkey pings a new hook with HEAD before it saves it. Always 200: it says "
    "nothing about whether the source exists."
)


# One route per method: OpenAPI operation ids must be unique, and one route for both gave the
# HEAD the GET's id.
@router.head(
    WEBHOOK_PATH,
    operation_id="ping_webhook_head",
    summary=_PING_SUMMARY,
    description=_PING_DESCRIPTION,
)
@router.get(
    WEBHOOK_PATH, operation_id="ping_webhook", summary=_PING_SUMMARY, description=_PING_DESCRIPTION
)
async def ping_webhook(
    tenant: TenantPath,
    source: Annotated[str, Path(pattern=SOURCE_NAME_PATTERN)],
) -> dict[str, str]:
    return {"status": "ok"}


@documentation.post(
    WEBHOOK_PATH,
    summary="A survey tool's webhook, verified by that tool's signature scheme",
    description=(
        "Configure the source first (`PUT /v1/tenants/{tenant}/sources/{source}` or "
        "`anbefal source add`). 202: the answer is in Kafka (or, for SurveyMonkey and "
        "Qualtrics, queued to be fetched); 200 `duplicate`: this answer version was already "
        "received (a SurveyMonkey or Qualtrics answer: already queued or fetched); 200 "
        "`ignored`: understood but not an answer to score (kept for ops). "
        "401 bad, missing or stale signature or unknown source; 413 over 1 MiB; 422 not a "
        "0-10 answer (the reason names the field); 429 over the tenant's rate, or too many "
        "unverified deliveries from this address or to this source; 503 retry later. Every "
        "refused body whose signature was verified is kept (`anbefal rejected list`); an "
        "unverified delivery leaves only a sampled line, without its body "
        "(`anbefal rejected unverified`)."
    ),
    responses={
        200: {"description": "Duplicate or ignored; nothing new to publish"},
        202: {"description": "Accepted after the broker's ack, or queued for fetching"},
        400: {"description": "Not the format the tool sends"},
        401: {"description": "Bad, missing or stale signature; unknown source"},
        413: {"description": "Body over the size limit"},
        422: {"description": "Signed, but not a 0-10 answer; `details` names the field"},
        429: {
            "description": "Over the tenant's rate, or over the rate of unverified deliveries; "
            "retry after `Retry-After` seconds"
        },
        503: {"description": "Kafka or PostgreSQL unavailable; retry after `Retry-After`"},
    },
)
async def post_webhook(
    tenant: TenantPath,
    source: Annotated[str, Path(pattern=SOURCE_NAME_PATTERN)],
) -> None:
    """Never called: `receive_webhook` serves this path, reading the tool's raw body."""
    raise AssertionError("the documentation route is not mounted")


def _path_value(request: Request, name: str, pattern: re.Pattern[str]) -> str:
    value: str = request.path_params[name]
    if pattern.match(value) is None:
        raise Unprocessable(
            "request parameters are invalid",
            details=[{"field": name, "message": f"must match {pattern.pattern}"}],
        )
    return value


async def receive_webhook(request: Request) -> Response:
    tenant = _path_value(request, "tenant", _TENANT)
    source = _path_value(request, "source", _SOURCE)
    state = await get_state(request)  # a bare route: no dependency injection
    intake = state.intake
    # Decoded once (as Starlette's Headers would, latin-1), not looked up name by name.
    headers = {
        k.decode("latin-1").lower(): v.decode("latin-1") for k, v in request.scope["headers"]
    }
    trace_id = request_trace_id(headers.get("x-request-id"))

    async def unverified(refusal: ServiceError, size: int) -> Response:
        """Anyone can send this: a sampled line at most, no body, no id, its own rate."""
        client = request.client.host if request.client else "-"
        user_agent = headers.get("user-agent")
        return await intake.unverified.refuse(
            Arrival(tenant, source, client, size, user_agent), refusal
        )

    limit = intake.settings.max_body_bytes
    try:
        body = await read_limited(request, limit)
    except BodyTooLarge as exc:
        return await unverified(
            ServiceError(413, "body_too_large", f"body is over {limit} bytes"), exc.size
        )
    try:
        config = await intake.source(tenant, source)
    except (OSError, SQLAlchemyError) as exc:
        log.warning("cannot read the source; asked to retry", error=repr(exc))
        return intake.unavailable("the source's configuration is unavailable; retry later")
    if config is None:
        return await unverified(
            Unauthenticated(f"no source {source!r} for tenant {tenant!r}", code="unknown_source"),
            len(body),
        )
    delivery = Delivery(
        body=body,
        headers=headers,
        # Only Jotform's hook URL carries a query (its token): parsed when there is one.
        query=dict(request.query_params) if request.scope.get("query_string") else {},
    )
    try:
        ADAPTERS[config.tool].verify(delivery, config)
    except SignatureInvalid as exc:
        intake.deliveries.note(tenant, source, exc.status, exc.code, trace_id, delivery.received_at)
        return await unverified(exc, len(body))
    # The tenant's budget is spent by its own verified deliveries only.
    intake.check_rate(tenant)
    result = await process(state, config, delivery, trace_id)
    if isinstance(result, ServiceError):
        intake.deliveries.note(
            tenant, source, result.status, result.code, trace_id, delivery.received_at
        )
        return await intake.keep_rejected(
            tenant=tenant,
            source=source,
            status=result.status,
            code=result.code,
            message=result.message,
            details=result.details,
            request=request,
            body=body,
            verified=True,
            enps=config.kind == "enps",
        )
    intake.deliveries.note(
        tenant, source, result.status_code, outcome_of(result.status_code), trace_id,
        delivery.received_at,
    )  # fmt: skip
    return result


webhook_route = Route(WEBHOOK_PATH, receive_webhook, methods=["POST"])
