"""The admin API over a tenant's survey-tool sources. Secrets go in, never out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field, StringConstraints

from anbefal.common.auth import Principal, Role
from anbefal.common.deps import SessionDep, TenantPath, allow
from anbefal.ingest.dependencies import IngestStateDep
from anbefal.ingest.intake import deliveries
from anbefal.ingest.sources import service
from anbefal.ingest.sources.config import SOURCE_NAME_PATTERN, SourceIn
from anbefal.ingest.state import IngestState

router = APIRouter(tags=["admin"])
Admin = Annotated[Principal, allow(Role.ADMIN)]
AdminOrOps = Annotated[Principal, allow(Role.ADMIN, Role.OPS)]
SourcePath = Annotated[str, Path(pattern=SOURCE_NAME_PATTERN)]


class SourceOut(BaseModel):
    name: str
    tool: str
    config: dict[str, Any]
    webhook_path: str
    # Where the tool posts: `ANBEFAL_INGEST_PUBLIC_URL`, else the address this API was called at.
    webhook_url: str
    # Nothing derived from the secret is shown (a short fingerprint would let a weak secret be
    # guessed offline): only whether an API token is set, and when the source last changed.
    api_token_set: bool
    updated_at: datetime
    updated_by: str
    # Only in the answer to the PUT that generated it: copy it into the tool now.
    generated_secret: str | None = None


def _public(request: Request, state: IngestState) -> str:
    """Ingest's address as survey tools reach it."""
    return state.settings.ingest_public_url or str(request.base_url)


def _out(public: str, tenant: str, row: Any, generated_secret: str | None = None) -> SourceOut:
    path = f"/v1/webhooks/{tenant}/{row.name}"
    return SourceOut(
        name=row.name,
        tool=row.tool,
        config=row.config,
        webhook_path=path,
        webhook_url=public.rstrip("/") + path,
        api_token_set=row.api_token_sealed is not None,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
        generated_secret=generated_secret,
    )


@router.put(
    "/v1/tenants/{tenant}/sources/{name}",
    response_model=SourceOut,
    summary="Create or replace a survey-tool source (admin)",
    description=(
        "Records the tool, its signing secret, which question holds the score and its declared "
        "scale (only 0-10 is accepted), and which fields map to respondent, segments and "
        "owners. Without `secret`, a new source gets a generated one (32 random bytes), "
        "returned once in `generated_secret`; an existing source keeps its own. Secrets are "
        "sealed at rest and never returned otherwise."
    ),
)
async def put_source(
    tenant: TenantPath,
    name: SourcePath,
    body: SourceIn,
    principal: Admin,
    session: SessionDep,
    state: IngestStateDep,
    request: Request,
) -> SourceOut:
    saved = await service.put(session, state.intake, tenant, name, body, by=principal)
    return _out(_public(request, state), tenant, saved.row, saved.generated_secret)


@router.get("/v1/tenants/{tenant}/sources", summary="The tenant's sources (admin, ops)")
async def list_sources(
    tenant: TenantPath, principal: AdminOrOps, session: SessionDep, state: IngestStateDep,
    request: Request,
) -> dict[str, list[SourceOut]]:  # fmt: skip
    rows = await service.sources(session, tenant)
    return {"sources": [_out(_public(request, state), tenant, r) for r in rows]}


@router.get("/v1/tenants/{tenant}/sources/{name}", response_model=SourceOut)
async def get_source(
    tenant: TenantPath, name: SourcePath, principal: AdminOrOps, session: SessionDep,
    state: IngestStateDep, request: Request,
) -> SourceOut:  # fmt: skip
    return _out(_public(request, state), tenant, await service.get(session, tenant, name))


class RotateIn(BaseModel):
    secret: Annotated[str, StringConstraints(max_length=500)] | None = Field(
        default=None,
        description=(
            "The new secret, for a tool that issues its own (Delighted, SurveyMonkey, "
            "Formbricks); leave it out to have one generated (shown once)."
        ),
    )


@router.post(
    "/v1/tenants/{tenant}/sources/{name}/rotate-secret",
    response_model=SourceOut,
    summary="Give a source a new signing secret (admin)",
    description=(
        "The configuration is kept; the secret is replaced: generated (32 random bytes, "
        "returned once in `generated_secret`), or, for a tool that issues its own, the one "
        "pasted in `secret`. From now on the old secret is refused (401); other ingest copies "
        "follow within `ANBEFAL_INGEST_SOURCE_CACHE_S`. Audited as `source.secret_rotated`."
    ),
)
async def rotate_secret(
    tenant: TenantPath, name: SourcePath, principal: Admin, session: SessionDep,
    state: IngestStateDep, request: Request, body: RotateIn | None = None,
) -> SourceOut:  # fmt: skip
    secret = body.secret if body else None
    saved = await service.rotate(session, state.intake, tenant, name, secret, by=principal)
    return _out(_public(request, state), tenant, saved.row, saved.generated_secret)


class DeliveryOut(BaseModel):
    minute: datetime
    status_code: int
    outcome: str
    count: int
    last_at: datetime
    last_trace_id: str


@router.get(
    "/v1/tenants/{tenant}/sources/{name}/deliveries",
    summary="How the source's deliveries were answered, newest first (admin, ops)",
    description=(
        "One line per minute, status and outcome (`accepted`, `duplicate`, `ignored`, a "
        "refusal's code such as `bad_signature` or `invalid_payload`), with how many and the "
        "last one's time and trace id. Counted in memory and written about every second "
        "(`ANBEFAL_INGEST_DELIVERY_LOG_FLUSH_S`); kept 7 days. The refused bodies themselves "
        "are in `.../rejected?source=`."
    ),
)
async def list_deliveries(
    tenant: TenantPath, name: SourcePath, principal: AdminOrOps, session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> dict[str, list[DeliveryOut]]:  # fmt: skip
    rows = await deliveries.recent(session, tenant, name, limit)
    return {"deliveries": [DeliveryOut.model_validate(r, from_attributes=True) for r in rows]}


@router.delete("/v1/tenants/{tenant}/sources/{name}", status_code=204)
async def delete_source(
    tenant: TenantPath,
    name: SourcePath,
    principal: Admin,
    session: SessionDep,
    state: IngestStateDep,
) -> None:
    """Deliveries to a deleted source get 401 (never 404) and are kept."""
    await service.delete(session, state.intake, tenant, name, by=principal)
