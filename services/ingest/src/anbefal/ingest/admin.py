"""Ops and admin APIs of ingest: a tenant's survey-tool sources and the bodies it refused."""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel

from anbefal.common.auth import Principal, Role
from anbefal.common.deps import SessionDep, TenantPath, allow
from anbefal.common.errors import Conflict, NotFound, ServiceError, Unprocessable
from anbefal.common.events import GENERIC_API
from anbefal.ingest import repository
from anbefal.ingest.adapters.base import Delivery
from anbefal.ingest.dependencies import IngestStateDep
from anbefal.ingest.models import Rejected
from anbefal.ingest.sources import SOURCE_NAME_PATTERN, FieldMap, Source, SourceIn
from anbefal.ingest.webhooks import Refusal, process

router = APIRouter(tags=["admin"])
Admin = Annotated[Principal, allow(Role.ADMIN)]
AdminOrOps = Annotated[Principal, allow(Role.ADMIN, Role.OPS)]
SourcePath = Annotated[str, Path(pattern=SOURCE_NAME_PATTERN)]


class SourceOut(BaseModel):
    name: str
    tool: str
    config: dict[str, Any]
    webhook_path: str
    # Enough to tell which secret is set, never enough to use it.
    secret_fingerprint: str
    api_token_set: bool
    updated_at: datetime
    updated_by: str


def _fingerprint(secret: str) -> str:
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()[:8]


def _out(tenant: str, row: Any) -> SourceOut:
    return SourceOut(
        name=row.name,
        tool=row.tool,
        config=row.config,
        webhook_path=f"/v1/webhooks/{tenant}/{row.name}",
        secret_fingerprint=_fingerprint(row.secret),
        api_token_set=row.api_token is not None,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


@router.put(
    "/v1/tenants/{tenant}/sources/{name}",
    response_model=SourceOut,
    summary="Create or replace a survey-tool source (admin)",
    description=(
        "Records the tool, its signing secret, which question holds the score and its declared "
        "scale (only 0-10 is accepted), and which fields map to respondent, segments and "
        "owners. Secrets are never returned; `secret_fingerprint` tells which one is set."
    ),
)
async def put_source(
    tenant: TenantPath,
    name: SourcePath,
    body: SourceIn,
    principal: Admin,
    session: SessionDep,
    state: IngestStateDep,
) -> SourceOut:
    if name == GENERIC_API:
        raise Unprocessable(f"{GENERIC_API!r} names the generic API", code="reserved_name")
    source = Source.build(tenant, name, body)
    await repository.upsert_source(
        session,
        tenant=tenant,
        name=name,
        tool=source.tool,
        config=source.public_config(),
        secret=source.secret,
        api_token=source.api_token,
        by=principal.sub,
    )
    state.intake.forget_source(tenant, name)
    row = await repository.get_source(session, tenant, name)
    assert row is not None
    return _out(tenant, row)


@router.get("/v1/tenants/{tenant}/sources", summary="The tenant's sources (admin, ops)")
async def list_sources(
    tenant: TenantPath, principal: AdminOrOps, session: SessionDep
) -> dict[str, list[SourceOut]]:
    return {"sources": [_out(tenant, r) for r in await repository.list_sources(session, tenant)]}


@router.get("/v1/tenants/{tenant}/sources/{name}", response_model=SourceOut)
async def get_source(
    tenant: TenantPath, name: SourcePath, principal: AdminOrOps, session: SessionDep
) -> SourceOut:
    row = await repository.get_source(session, tenant, name)
    if row is None:
        raise NotFound(f"no source {name!r}")
    return _out(tenant, row)


@router.delete("/v1/tenants/{tenant}/sources/{name}", status_code=204)
async def delete_source(
    tenant: TenantPath,
    name: SourcePath,
    principal: Admin,
    session: SessionDep,
    state: IngestStateDep,
) -> None:
    """Deliveries to a deleted source get 401 (never 404) and are kept."""
    if not await repository.delete_source(session, tenant, name):
        raise NotFound(f"no source {name!r}")
    state.intake.forget_source(tenant, name)


class RejectedOut(BaseModel):
    id: int
    source: str
    status_code: int
    reason: str
    details: list[dict[str, Any]]
    headers: dict[str, str]
    received_at: datetime
    verified: bool
    replayed_at: datetime | None
    size: int
    body_base64: str | None = None


def _rejected(row: Rejected, with_body: bool) -> RejectedOut:
    return RejectedOut(
        id=row.id,
        source=row.source,
        status_code=row.status_code,
        reason=row.reason,
        details=row.details,
        headers=row.headers,
        received_at=row.received_at,
        verified=row.verified,
        replayed_at=row.replayed_at,
        size=len(row.body),
        body_base64=base64.b64encode(row.body).decode() if with_body else None,
    )


@router.get("/v1/tenants/{tenant}/rejected", summary="Bodies ingest refused, newest first (ops)")
async def list_rejected(
    tenant: TenantPath,
    principal: AdminOrOps,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before_id: int | None = None,
) -> dict[str, list[RejectedOut]]:
    rows = await repository.list_rejected(session, tenant, limit=limit, before_id=before_id)
    return {"rejected": [_rejected(r, False) for r in rows]}


@router.get("/v1/tenants/{tenant}/rejected/{rejected_id}", response_model=RejectedOut)
async def show_rejected(
    tenant: TenantPath, rejected_id: int, principal: AdminOrOps, session: SessionDep
) -> RejectedOut:
    row = await repository.get_rejected(session, tenant, rejected_id)
    if row is None:
        raise NotFound(f"no rejected body {rejected_id}")
    return _rejected(row, True)


@router.post(
    "/v1/tenants/{tenant}/rejected/{rejected_id}/replay",
    summary="Run a kept body through its source again, after its configuration was fixed (ops)",
    description=(
        "Only bodies whose signature (or token) was verified when they arrived can be replayed; "
        "the signature is not checked again, since a timestamped one would now be stale. "
        "Replaying an answer that is already in Kafka is harmless (`duplicate`)."
    ),
)
async def replay_rejected(
    tenant: TenantPath,
    rejected_id: int,
    principal: AdminOrOps,
    session: SessionDep,
    state: IngestStateDep,
) -> Response:
    row = await repository.get_rejected(session, tenant, rejected_id)
    if row is None:
        raise NotFound(f"no rejected body {rejected_id}")
    if not row.verified:
        raise Conflict(
            "this body's sender was never verified; it cannot be replayed", code="not_verified"
        )
    if row.source == GENERIC_API:
        config = Source(
            tenant=tenant,
            name=GENERIC_API,
            tool="generic",
            kind="nps",
            secret="-",
            fields=FieldMap(),
        )
    else:
        found = await repository.get_source(session, tenant, row.source)
        if found is None:
            raise Conflict(f"source {row.source!r} is not configured", code="no_source")
        config = Source.from_row(tenant, row.source, found.config, found.secret, found.api_token)
    delivery = Delivery(body=row.body, headers={k.lower(): v for k, v in row.headers.items()})
    result = await process(state, config, delivery, uuid.uuid4().hex)
    if isinstance(result, Refusal):
        raise ServiceError(
            422 if result.status < 300 else result.status,
            result.code,
            f"still refused: {result.message}",
            result.details,
        )
    if result.status_code < 300:
        await repository.mark_replayed(session, rejected_id)
    return result
