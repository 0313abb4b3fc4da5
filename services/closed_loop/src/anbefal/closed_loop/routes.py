"""closed_loop's API: the rules in force (editing them comes with per-tenant rules)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path

from anbefal.closed_loop.rules import DEFAULT_RULES
from anbefal.common.deps import PrincipalDep, authorize
from anbefal.common.events import TENANT_PATTERN

router = APIRouter(tags=["rules"])


@router.get("/v1/tenants/{tenant}/rules", summary="The routing rules in force for a tenant")
async def get_rules(
    tenant: Annotated[str, Path(pattern=TENANT_PATTERN)], principal: PrincipalDep
) -> dict[str, Any]:
    authorize(principal, tenant, {"admin", "director", "viewer", "ops"})
    return {"tenant": tenant, "rules": [asdict(rule) for rule in DEFAULT_RULES]}
