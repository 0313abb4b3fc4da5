"""`GET /v1/ops/queue-health`: every tenant's queue now, for ops (`anbefal status`). It names
tenants, so it takes only a deployment-wide `ops` token, never a tenant's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field

from anbefal.common.auth import Principal, Role
from anbefal.common.deps import SessionDep, allow_deployment
from anbefal.notify.dependencies import NotifyStateDep
from anbefal.notify.performance import repository

Operator = Annotated[Principal, allow_deployment(Role.OPS)]
router = APIRouter(tags=["ops"])
# A breach the SLA clock has not escalated this long after its due time means the clock is
# not running (its poll is seconds): at least this, or three polls.
MIN_ESCALATION_GRACE_S = 300


class TenantQueue(BaseModel):
    tenant: str
    open: int = Field(description="Open or claimed tasks")
    overdue: int = Field(description="Of those, past their due time")
    sla_breaches: int = Field(description="Overdue tasks the SLA clock escalated: open breaches")
    not_escalated: int = Field(
        description="Overdue tasks not escalated well after their due time (the clock is behind)"
    )
    unowned: int = Field(description="Tasks no one owns: no assignee and no holder")


class QueueHealthOut(BaseModel):
    as_of: datetime
    tenants: list[TenantQueue] = Field(description="Every tenant with open or claimed tasks")


@router.get(
    "/v1/ops/queue-health",
    response_model=QueueHealthOut,
    summary="Every tenant's queue now: open, overdue, SLA breaches, unowned (deployment ops)",
    description="Read from notify's tasks, so it says what is true now, whichever copy answers. "
    "Needs a deployment-wide token (`anbefal token issue --tenant '*' --role ops`).",
)
async def queue_health(
    principal: Operator, session: SessionDep, state: NotifyStateDep
) -> QueueHealthOut:
    now = datetime.now(UTC)
    grace = timedelta(seconds=max(MIN_ESCALATION_GRACE_S, 3 * state.settings.sla_poll_s))
    rows = await repository.queue_health(session, now, grace)
    return QueueHealthOut(as_of=now, tenants=[TenantQueue.model_validate(r) for r in rows])
