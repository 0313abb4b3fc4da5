"""The call-back queue's operations, shared by the JSON API and the staff page.

Each runs inside the caller's transaction (the entrypoint commits) and raises `ServiceError`
for the HTTP layer to render.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.auth import Principal
from anbefal.common.errors import NotFound
from anbefal.notify import paging
from anbefal.notify.models import Task, TaskCompletion, TaskNote
from anbefal.notify.reasons import repository as reasons
from anbefal.notify.tasks import events, repository
from anbefal.notify.tasks.events import task_event
from anbefal.notify.tasks.lifecycle import Outcome, Transition, check

NOT_FOUND = "no such task"  # also for another tenant's ids: never confirm they exist


@dataclass(frozen=True)
class Counts:
    """A list's true numbers (not a page's): all of it, and per state."""

    total: int
    open: int
    claimed: int
    overdue: int


@dataclass(frozen=True)
class TaskPage:
    tasks: list[Task]
    next_cursor: str | None
    counts: Counts


async def _page(
    session: AsyncSession, clauses: list[Any], cursor: str | None, limit: int
) -> TaskPage:
    after = _after(cursor) if cursor else None
    rows = await repository.page(session, clauses, after, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    following = paging.encode(repository.key_of(rows[-1])) if more else None
    counts = Counts(*await repository.counts(session, clauses, datetime.now(UTC)))
    return TaskPage(rows, following, counts)


def _after(cursor: str) -> list[Any]:
    due, priority, created, task_id = paging.decode(cursor, 4)
    try:
        return [
            datetime.fromisoformat(due), int(priority), datetime.fromisoformat(created),
            uuid.UUID(task_id),
        ]  # fmt: skip
    except (TypeError, ValueError) as exc:
        raise paging.invalid_cursor() from exc


async def tasks(
    session: AsyncSession, reader: Principal, status: str | None, limit: int, cursor: str | None
) -> TaskPage:
    """The reader's tenant's tasks (of one status, or all) inside the reader's scope, overdue
    first, a page after `cursor`."""
    clauses = repository.where(reader.tenant, status=status, scope=reader.scope)
    return await _page(session, clauses, cursor, limit)


async def waiting(
    session: AsyncSession,
    reader: Principal,
    *,
    mine: str | None,
    limit: int,
    cursor: str | None,
) -> TaskPage:
    """The queue on the staff page: one person's (`mine`) or the team's, inside the reader's
    scope, a page at a time."""
    clauses = repository.where(reader.tenant, mine=mine, active=True, scope=reader.scope)
    return await _page(session, clauses, cursor, limit)


async def notes(session: AsyncSession, task: Task) -> list[TaskNote]:
    return await repository.notes(session, task.id)


async def completions(session: AsyncSession, task: Task) -> list[TaskCompletion]:
    """Every completion of the task, oldest first (a reopened one has `reopened_at`)."""
    return await repository.completions(session, task.id)


async def find(
    session: AsyncSession, tenant: str, task_id: uuid.UUID, *, lock: bool = False
) -> Task | None:
    return await repository.get_task(session, tenant, task_id, lock=lock)


async def get(
    session: AsyncSession, tenant: str, task_id: uuid.UUID, reader: Principal | None = None
) -> Task:
    """One task; 404 for another tenant's, and for one outside the `reader`'s scope."""
    task = await repository.get_task(session, tenant, task_id)
    if task is None or (reader is not None and not reader.sees(task.segments)):
        raise NotFound(NOT_FOUND)
    return task


async def _locked(
    session: AsyncSession,
    tenant: str,
    task_id: uuid.UUID,
    transition: Transition | None,
    who: Principal,
) -> Task:
    # FOR UPDATE: concurrent transitions of one task queue up here and each sees the last one's
    # result, so of twenty agents claiming at once exactly one gets the task.
    task = await repository.get_task(session, tenant, task_id, lock=True)
    if task is None or not who.sees(task.segments):
        raise NotFound(NOT_FOUND)
    if transition is not None:
        check(transition, status=task.status, holder=task.claimed_by, actor=who.sub, role=who.role)
    return task


async def _changed(
    session: AsyncSession, task: Task, event: str, who: Principal, **values: Any
) -> Task:
    await repository.set_task(session, task, **values)
    # A completion's event says how it went and why (`values` holds both then).
    said = (
        {"outcome": values["outcome"], "reason": values["reason"]} if event == "completed" else {}
    )
    await events.record(session, [task_event(task, event, who.sub, **said)])
    await session.refresh(task)
    return task


async def claim(session: AsyncSession, tenant: str, task_id: uuid.UUID, who: Principal) -> Task:
    task = await _locked(session, tenant, task_id, "claim", who)
    if task.status != "open":
        return task  # already ours
    return await _changed(
        session, task, "claimed", who,
        status="claimed", claimed_by=who.sub, claimed_at=func.now(),
        first_contact_at=func.coalesce(Task.first_contact_at, func.now()),
    )  # fmt: skip


async def complete(
    session: AsyncSession,
    tenant: str,
    task_id: uuid.UUID,
    who: Principal,
    outcome: Outcome,
    note: str,
    reason: str | None = None,
) -> Task:
    """Close a claimed task with how the call went and, optionally, why the respondent was
    unhappy: one of the tenant's reason codes (422 naming the allowed ones otherwise)."""
    reason = (await reasons.load(session, tenant)).check(reason)
    task = await _locked(session, tenant, task_id, "complete", who)
    await repository.add_note(session, task, who.sub, note, outcome)
    await repository.add_completion(session, task, who.sub, outcome, reason)
    return await _changed(
        session, task, "completed", who,
        status="done", outcome=outcome, reason=reason, completed_at=func.now(),
    )  # fmt: skip


async def reassign(
    session: AsyncSession,
    tenant: str,
    task_id: uuid.UUID,
    who: Principal,
    assignee: str,
    note: str | None,
) -> Task:
    task = await _locked(session, tenant, task_id, "reassign", who)
    if note:
        await repository.add_note(session, task, who.sub, note)
    return await _changed(
        session,
        task,
        "reassigned",
        who,
        assignee=assignee,
        # A director chose them: a signed link may reach them if they have no login.
        assignee_source="reassigned",
        assignee_trusted=True,
        status="open",
        claimed_by=None,
        claimed_at=None,
    )


async def reopen(
    session: AsyncSession, tenant: str, task_id: uuid.UUID, who: Principal, note: str
) -> Task:
    task = await _locked(session, tenant, task_id, "reopen", who)
    await repository.add_note(session, task, who.sub, note)
    # The task's outcome and reason go; its completion rows keep them (`completions`).
    await repository.mark_reopened(session, task, who.sub)
    return await _changed(
        session, task, "reopened", who,
        status="open", outcome=None, reason=None, completed_at=None,
        claimed_by=None, claimed_at=None,
    )  # fmt: skip


async def add_note(
    session: AsyncSession, tenant: str, task_id: uuid.UUID, who: Principal, body: str
) -> Task:
    task = await _locked(session, tenant, task_id, None, who)
    await repository.add_note(session, task, who.sub, body)
    return task
