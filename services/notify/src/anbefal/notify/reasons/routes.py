"""A tenant's outcome reason codes: everyone who reads tasks sees them, an admin sets them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from anbefal.common import audit
from anbefal.common.auth import Principal, Role
from anbefal.common.deps import SessionDep, TenantPath, allow
from anbefal.notify.access import Reader
from anbefal.notify.models import OUTBOX
from anbefal.notify.reasons import repository
from anbefal.notify.reasons.model import Reasons

Admin = Annotated[Principal, allow(Role.ADMIN)]
router = APIRouter(tags=["tasks"])
PATH = "/v1/tenants/{tenant}/outcome-reasons"


@router.get(PATH, response_model=Reasons, summary="The reason codes a completed task may carry")
async def get_reasons(tenant: TenantPath, principal: Reader, session: SessionDep) -> Reasons:
    return await repository.load(session, tenant)


@router.put(
    PATH,
    response_model=Reasons,
    summary="Set the tenant's reason codes (admin)",
    description="Replaces the list: codes (`^[a-z][a-z0-9_]{0,39}$`, each once) with a Danish "
    "and an English label, in the order the complete form shows them. Tasks completed with a "
    "code that is later removed keep it, and the figures still count it.",
)
async def put_reasons(
    tenant: TenantPath, body: Reasons, principal: Admin, session: SessionDep
) -> Reasons:
    before = await repository.load(session, tenant)
    await repository.save(session, tenant, body, principal.sub)
    await audit.record(
        session, OUTBOX, tenant=tenant, actor=principal, action="tenant.changed",
        target="outcome_reasons",
        detail={"outcome_reasons": {"from": before.codes, "to": body.codes}},
    )  # fmt: skip
    return body
