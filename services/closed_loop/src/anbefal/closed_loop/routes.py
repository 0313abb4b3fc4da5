"""closed_loop's API: each tenant's routing rules, versioned with an audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from anbefal.closed_loop import repository
from anbefal.closed_loop.rules import DEFAULT_RULE_SET, Rule, RuleSet
from anbefal.common.deps import PrincipalDep, SessionDep, authorize
from anbefal.common.events import TENANT_PATTERN

router = APIRouter(tags=["rules"])
TenantPath = Annotated[str, Path(pattern=TENANT_PATTERN)]
READERS = {"admin", "director", "viewer", "ops"}


class RuleSetOut(BaseModel):
    tenant: str
    version: int  # 0: the defaults, never saved
    updated_by: str | None
    updated_at: datetime | None
    enps_individual_follow_up: bool
    rules: list[Rule]


class RuleSetHistoryOut(BaseModel):
    tenant: str
    versions: list[RuleSetOut]


@router.get("/v1/tenants/{tenant}/rules", response_model=RuleSetOut, summary="The rules in force")
async def get_rules(tenant: TenantPath, principal: PrincipalDep, session: SessionDep) -> RuleSetOut:
    authorize(principal, tenant, READERS)
    row = await repository.current_rule_set(session, tenant)
    if row is None:
        return RuleSetOut(
            tenant=tenant, version=0, updated_by=None, updated_at=None,
            **DEFAULT_RULE_SET.model_dump(),
        )  # fmt: skip
    return RuleSetOut(
        tenant=tenant, version=row.version, updated_by=row.updated_by, updated_at=row.updated_at,
        **RuleSet.model_validate(row.rule_set).model_dump(),
    )  # fmt: skip


@router.put(
    "/v1/tenants/{tenant}/rules",
    response_model=RuleSetOut,
    summary="Replace the rules (admin); 422 names the rule and field that are wrong",
    description=(
        "Rules are evaluated in order; every enabled rule whose conditions hold produces one "
        "action for the answer, and a matching rule with `stop` ends the evaluation. New "
        "answers use the new rules; answers already evaluated keep their actions."
    ),
)
async def put_rules(
    tenant: TenantPath, body: RuleSet, principal: PrincipalDep, session: SessionDep
) -> RuleSetOut:
    authorize(principal, tenant, {"admin"})
    await repository.save_rule_set(session, tenant, body, principal.sub)
    return await get_rules(tenant, principal, session)


@router.get(
    "/v1/tenants/{tenant}/rules/history",
    response_model=RuleSetHistoryOut,
    summary="Every saved version: who changed the rules, and when",
)
async def rules_history(
    tenant: TenantPath,
    principal: PrincipalDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> RuleSetHistoryOut:
    authorize(principal, tenant, {"admin", "director", "ops"})
    rows = await repository.rule_set_history(session, tenant, limit)
    return RuleSetHistoryOut(
        tenant=tenant,
        versions=[
            RuleSetOut(
                tenant=tenant,
                version=r.version,
                updated_by=r.updated_by,
                updated_at=r.updated_at,
                **RuleSet.model_validate(r.rule_set).model_dump(),
            )  # fmt: skip
            for r in rows
        ],
    )
