"""`GET /v1/tenants/{tenant}/audit`: who changed what, for the tenant's admin."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from anbefal.common.audit import Kind
from anbefal.common.auth import Principal, Role
from anbefal.common.deps import SessionDep, TenantPath, allow
from anbefal.notify.audit import service

router = APIRouter(tags=["audit"])
Admin = Annotated[Principal, allow(Role.ADMIN)]


class ActorOut(BaseModel):
    sub: str = Field(description="the token's subject (or the command line's user)")
    role: str = Field(description="the token's role, or `cli` for the command line")


class AuditEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    at: datetime = Field(description="when the change was made")
    actor: ActorOut
    kind: Kind
    action: str = Field(description="`<kind>.<verb>`, e.g. `rules.changed`, `user.added`")
    target: str = Field(
        description="what changed: `rules`, `source:<name>`, `user:<email>`, `settings`, "
        "`respondent:<id>` (never a respondent's email)"
    )
    detail: dict[str, Any] = Field(
        description="what changed, e.g. the rule set's version from and to, a user's role from "
        "and to, each tenant setting from and to; a secret only as whether it is set or changed"
    )


class AuditPage(BaseModel):
    tenant: str
    entries: list[AuditEntryOut]
    next_cursor: str | None = Field(
        description="pass as `cursor` for the next (older) page; null: this was the last"
    )


@router.get(
    "/v1/tenants/{tenant}/audit",
    response_model=AuditPage,
    summary="The audit trail (admin): who changed rules, owners, sources, users and settings, "
    "and who exported or erased whose data",
    description=(
        "Newest first, `limit` per page; follow `next_cursor` for older entries. Filter by "
        "`kind` and by the time of the change (`from` inclusive, `to` exclusive). Every "
        "service records its changes in the change's own transaction, so an entry exists if "
        "and only if the change was made; entries arrive through Kafka within seconds."
    ),
)
async def audit_trail(
    tenant: TenantPath,
    principal: Admin,
    session: SessionDep,
    kind: Annotated[Kind | None, Query(description="only entries of this kind")] = None,
    start: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    end: Annotated[AwareDatetime | None, Query(alias="to")] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AuditPage:
    page = await service.entries(
        session, tenant, kind=kind, start=start, end=end, cursor=cursor, limit=limit
    )
    return AuditPage(
        tenant=tenant,
        entries=[
            AuditEntryOut(
                id=r.event_id,
                at=r.at,
                actor=ActorOut(sub=r.actor_sub, role=r.actor_role),
                kind=Kind(r.kind),
                action=r.action,
                target=r.target,
                detail=r.detail,
            )  # fmt: skip
            for r in page.entries
        ],
        next_cursor=page.next_cursor,
    )
