"""notify's API: the call-back queue and the email delivery log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from anbefal.common.deps import PrincipalDep, SessionDep, authorize
from anbefal.common.events import TENANT_PATTERN
from anbefal.notify import repository
from anbefal.notify.schemas import EmailList, EmailOut, TaskList, TaskOut

router = APIRouter(tags=["tasks"])
TenantPath = Annotated[str, Path(pattern=TENANT_PATTERN)]


@router.get("/v1/tenants/{tenant}/tasks", response_model=TaskList, summary="The call-back queue")
async def list_tasks(
    tenant: TenantPath,
    principal: PrincipalDep,
    session: SessionDep,
    status: Literal["open", "claimed", "done"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> TaskList:
    authorize(principal, tenant, {"admin", "director", "agent", "viewer", "ops"})
    now = datetime.now(UTC)
    tasks = []
    for task in await repository.list_tasks(session, tenant, status, limit):
        out = TaskOut.model_validate(task)
        out.overdue = task.status != "done" and task.due_at is not None and task.due_at < now
        tasks.append(out)
    return TaskList(tasks=tasks)


@router.get("/v1/tenants/{tenant}/emails", response_model=EmailList, summary="Email delivery log")
async def list_emails(
    tenant: TenantPath,
    principal: PrincipalDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> EmailList:
    authorize(principal, tenant, {"admin", "director", "ops"})
    rows = await repository.list_emails(session, tenant, limit)
    return EmailList(emails=[EmailOut.model_validate(e) for e in rows])
