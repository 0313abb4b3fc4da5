"""The admin API over a tenant's survey-tool sources. Secrets go in, never out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel

from anbefal.common.auth import Principal, Role
from anbefal.common.deps import SessionDep, TenantPath, allow
from anbefal.ingest.dependencies import IngestStateDep
from anbefal.ingest.sources import service
from anbefal.ingest.sources.config import SOURCE_NAME_PATTERN, SourceIn

router = APIRouter(tags=["admin"])
Admin = Annotated[Principal, allow(Role.ADMIN)]
AdminOrOps = Annotated[Principal, allow(Role.ADMIN, Role.OPS)]
SourcePath = Annotated[str, Path(pattern=SOURCE_NAME_PATTERN)]


class SourceOut(BaseModel):
    name: str
    tool: str
    config: dict[str, Any]
    webhook_path: str
    # Nothing derived from the secret is shown (a short fingerprint would let a weak secret be
    # guessed offline): only whether an API token is set, and when the source last changed.
    api_token_set: bool
    updated_at: datetime
    updated_by: str
    # Only in the answer to the PUT that generated it: copy it into the tool now.
    generated_secret: str | None = None


def _out(tenant: str, row: Any, generated_secret: str | None = None) -> SourceOut:
    return SourceOut(
        name=row.name,
        tool=row.tool,
        config=row.config,
        webhook_path=f"/v1/webhooks/{tenant}/{row.name}",
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
) -> SourceOut:
    saved = await service.put(session, state.intake, tenant, name, body, by=principal)
    return _out(tenant, saved.row, saved.generated_secret)


@router.get("/v1/tenants/{tenant}/sources", summary="The tenant's sources (admin, ops)")
async def list_sources(
    tenant: TenantPath, principal: AdminOrOps, session: SessionDep
) -> dict[str, list[SourceOut]]:
    return {"sources": [_out(tenant, r) for r in await service.sources(session, tenant)]}


@router.get("/v1/tenants/{tenant}/sources/{name}", response_model=SourceOut)
async def get_source(
    tenant: TenantPath, name: SourcePath, principal: AdminOrOps, session: SessionDep
) -> SourceOut:
    return _out(tenant, await service.get(session, tenant, name))


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
