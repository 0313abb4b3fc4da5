"""The call-back queue's API: list, read and work tasks."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.auth import Principal
from anbefal.common.deps import SessionDep, TenantPath
from anbefal.notify.access import Reader, Staff, respondent_for
from anbefal.notify.models import Task
from anbefal.notify.schemas import (
    CompleteIn,
    CompletionOut,
    NoteIn,
    NoteOut,
    ReassignIn,
    ReopenIn,
    TaskCounts,
    TaskDetail,
    TaskList,
    TaskOut,
)
from anbefal.notify.tasks import queue
from anbefal.notify.tasks.lifecycle import is_overdue

router = APIRouter(tags=["tasks"])


@router.get(
    "/v1/tenants/{tenant}/tasks",
    response_model=TaskList,
    summary="The call-back queue",
    description="Overdue first (by due time), then priority and age, `limit` per page; follow "
    "`next_cursor` for the next page. `total` and `counts` are the whole list's true numbers. "
    "A reader with a scope (a team lead) gets only the tasks inside it, and counts of them; "
    "another task's id answers 404, as another tenant's does.",
)
async def list_tasks(
    tenant: TenantPath,
    principal: Reader,
    session: SessionDep,
    status: Literal["open", "claimed", "done", "cancelled"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> TaskList:
    now = datetime.now(UTC)
    page = await queue.tasks(session, principal, status, limit, cursor)
    return TaskList(
        tasks=[task_out(t, now, principal) for t in page.tasks],
        next_cursor=page.next_cursor,
        total=page.counts.total,
        counts=TaskCounts(**asdict(page.counts)),
    )


TaskId = Annotated[uuid.UUID, Path(description="Task id")]


def task_out(task: Task, now: datetime, principal: Principal) -> TaskOut:
    """A task as `principal` may see it (`access.respondent_for`)."""
    out = TaskOut.model_validate(task)
    out.overdue = is_overdue(task.status, task.due_at, now)
    out.respondent = respondent_for(principal.role, out.respondent)
    return out


async def _detail(session: AsyncSession, task: Task, principal: Principal) -> TaskDetail:
    out = TaskDetail.model_validate(task_out(task, datetime.now(UTC), principal).model_dump())
    out.notes = [NoteOut.model_validate(n) for n in await queue.notes(session, task)]
    out.completions = [
        CompletionOut.model_validate(c) for c in await queue.completions(session, task)
    ]
    return out


@router.get("/v1/tenants/{tenant}/tasks/{task_id}", response_model=TaskDetail, summary="One task")
async def get_task(
    tenant: TenantPath, task_id: TaskId, principal: Reader, session: SessionDep
) -> TaskDetail:
    return await _detail(session, await queue.get(session, tenant, task_id, principal), principal)


@router.post(
    "/v1/tenants/{tenant}/tasks/{task_id}/claim",
    response_model=TaskDetail,
    summary="Take a task from the queue (409 if someone else holds it)",
)
async def claim(
    tenant: TenantPath, task_id: TaskId, principal: Staff, session: SessionDep
) -> TaskDetail:
    return await _detail(session, await queue.claim(session, tenant, task_id, principal), principal)


@router.post(
    "/v1/tenants/{tenant}/tasks/{task_id}/complete",
    response_model=TaskDetail,
    summary="Close a claimed task with an outcome, a note and optionally a reason code",
)
async def complete(
    tenant: TenantPath,
    task_id: TaskId,
    body: CompleteIn,
    principal: Staff,
    session: SessionDep,
) -> TaskDetail:
    task = await queue.complete(
        session, tenant, task_id, principal, body.outcome, body.note, body.reason
    )
    return await _detail(session, task, principal)


@router.post(
    "/v1/tenants/{tenant}/tasks/{task_id}/reassign",
    response_model=TaskDetail,
    summary="Give a task to someone else (director or admin); it goes back to the queue",
)
async def reassign(
    tenant: TenantPath,
    task_id: TaskId,
    body: ReassignIn,
    principal: Staff,
    session: SessionDep,
) -> TaskDetail:
    task = await queue.reassign(session, tenant, task_id, principal, str(body.assignee), body.note)
    return await _detail(session, task, principal)


@router.post(
    "/v1/tenants/{tenant}/tasks/{task_id}/reopen",
    response_model=TaskDetail,
    summary="Put a done task back in the queue",
)
async def reopen(
    tenant: TenantPath,
    task_id: TaskId,
    body: ReopenIn,
    principal: Staff,
    session: SessionDep,
) -> TaskDetail:
    return await _detail(
        session, await queue.reopen(session, tenant, task_id, principal, body.note), principal
    )


@router.post(
    "/v1/tenants/{tenant}/tasks/{task_id}/notes",
    response_model=TaskDetail,
    status_code=201,
    summary="Add a note to a task",
)
async def add_note(
    tenant: TenantPath, task_id: TaskId, body: NoteIn, principal: Staff, session: SessionDep
) -> TaskDetail:
    return await _detail(
        session, await queue.add_note(session, tenant, task_id, principal, body.body), principal
    )
