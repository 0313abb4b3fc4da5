"""The ops API over the bodies ingest refused: list them, show one, replay it; and the sampled
lines about deliveries that failed verification."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel

from anbefal.common.auth import Principal, Role
from anbefal.common.deps import SessionDep, TenantPath, allow
from anbefal.ingest.dependencies import IngestStateDep
from anbefal.ingest.models import Rejected, UnverifiedDelivery
from anbefal.ingest.rejected import repository, service

router = APIRouter(tags=["admin"])
AdminOrOps = Annotated[Principal, allow(Role.ADMIN, Role.OPS)]


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
    source: Annotated[str | None, Query(description="Only this source's")] = None,
) -> dict[str, list[RejectedOut]]:
    rows = await service.kept(session, tenant, limit=limit, before_id=before_id, source=source)
    return {"rejected": [_rejected(r, False) for r in rows]}


@router.get("/v1/tenants/{tenant}/rejected/{rejected_id}", response_model=RejectedOut)
async def show_rejected(
    tenant: TenantPath, rejected_id: int, principal: AdminOrOps, session: SessionDep
) -> RejectedOut:
    return _rejected(await service.get(session, tenant, rejected_id), True)


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
    return await service.replay(session, state, tenant, rejected_id)


class UnverifiedOut(BaseModel):
    id: int
    source: str
    client: str
    status_code: int
    code: str
    reason: str
    size: int
    count: int
    user_agent: str | None
    received_at: datetime


def _unverified(row: UnverifiedDelivery) -> UnverifiedOut:
    return UnverifiedOut.model_validate(row, from_attributes=True)


@router.get(
    "/v1/tenants/{tenant}/unverified-deliveries",
    summary="Deliveries that failed verification, sampled, newest first (ops)",
    description=(
        "A webhook POST that is not verified (unknown source, wrong or stale signature, a body "
        "too large to verify) keeps no body: one line per source, client address and reason "
        "per minute, whose `count` says how many deliveries it stands for. Enough to see that "
        "a tool posts with a wrong secret. Kept for 7 days."
    ),
)
async def list_unverified(
    tenant: TenantPath,
    principal: AdminOrOps,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before_id: int | None = None,
) -> dict[str, list[UnverifiedOut]]:
    rows = await repository.list_unverified(session, tenant, limit=limit, before_id=before_id)
    return {"unverified": [_unverified(r) for r in rows]}
