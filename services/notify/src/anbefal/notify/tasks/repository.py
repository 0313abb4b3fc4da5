"""The tasks' SQL: the queue, one task and its notes, actions to tasks, the SLA clock's scans."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson
from sqlalchemy import (
    ARRAY,
    ColumnElement,
    and_,
    any_,
    literal,
    or_,
    select,
    text,
    true,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql import func

from anbefal.common import metrics
from anbefal.common.arrays import as_columns, column_arrays, table_of, unnest_insert
from anbefal.common.auth import Scope
from anbefal.notify.models import StaffUser, Task, TaskCompletion, TaskNote, Tenant
from anbefal.notify.tasks.lifecycle import ACTIVE

# Tasks without a due time sort last: after every real due time.
_NO_DUE = datetime(9999, 12, 31, tzinfo=UTC)


def within(scope: Scope) -> ColumnElement[bool]:
    """`Principal.sees` in SQL: the task's segments hold every (dimension, value) of `scope`
    (any task for the whole tenant's `()`)."""
    return Task.segments.contains(dict(scope)) if scope else true()


def queue_key() -> list[Any]:
    """The queue's order, overdue first (by due time), then priority, then age; the id breaks
    ties, so the order is total and a keyset cursor over it neither skips nor repeats."""
    return [func.coalesce(Task.due_at, literal(_NO_DUE)), -Task.priority, Task.created_at, Task.id]


def key_of(task: Task) -> list[Any]:
    return [task.due_at or _NO_DUE, -task.priority, task.created_at, task.id]


def where(
    tenant: str,
    *,
    status: str | None = None,
    mine: str | None = None,
    active: bool = False,
    scope: Scope = (),
) -> list[ColumnElement[bool]]:
    """A list of the tenant's tasks: of one status, or the queue (`active`); with `mine` (an
    address) only what that person may pick up or holds: tasks assigned to them or to nobody
    who can be reached (the fallback queue) and not held by someone else, plus their claims.
    With `scope` (a team lead's), only the tasks inside it."""
    clauses: list[ColumnElement[bool]] = [Task.tenant == tenant, within(scope)]
    if status:
        clauses.append(Task.status == status)
    if active:
        clauses.append(Task.status.in_(ACTIVE))
    if mine is not None:
        mine = mine.lower()
        clauses.append(
            or_(
                func.lower(Task.claimed_by) == mine,
                and_(
                    Task.status == "open",
                    or_(~reachable(), func.lower(Task.assignee) == mine),
                ),
            )
        )
    return clauses


async def page(
    session: AsyncSession,
    clauses: list[ColumnElement[bool]],
    after: list[Any] | None,
    limit: int,
) -> list[Task]:
    """Up to `limit` tasks in queue order, after the row whose key is `after`."""
    keys = queue_key()
    query = select(Task).where(*clauses)
    if after is not None:
        query = query.where(tuple_(*keys) > tuple_(*[literal(v) for v in after]))
    return list(await session.scalars(query.order_by(*keys).limit(limit)))


async def counts(
    session: AsyncSession, clauses: list[ColumnElement[bool]], now: datetime
) -> tuple[int, int, int, int]:
    """(all, open, claimed, overdue) of the list: true numbers, never a page's."""
    row = (
        await session.execute(
            select(
                func.count(),
                func.count().filter(Task.status == "open"),
                func.count().filter(Task.status == "claimed"),
                func.count().filter(Task.status.in_(ACTIVE), Task.due_at < now),
            ).where(*clauses)
        )
    ).one()
    return int(row[0]), int(row[1]), int(row[2]), int(row[3])


def reachable() -> ColumnElement[bool]:
    """Whether someone can act on a task besides the team: its owner has a staff login of the
    tenant, or may get a signed link (`reach.py`). A task nobody can reach is in the fallback
    queue: every agent's queue shows it, and it is counted."""
    login = (
        select(StaffUser.id)
        .where(
            StaffUser.tenant == Task.tenant,
            StaffUser.email == func.lower(Task.assignee),
            StaffUser.active,
        )
        .exists()
    )
    return and_(Task.assignee.is_not(None), or_(Task.assignee_trusted, login))


async def respondent_history(
    session: AsyncSession, task: Task, scope: Scope = (), limit: int = 20
) -> list[Task]:
    """The same respondent's other tasks in this tenant (their earlier answers), newest first.
    notify only knows the answers that made a task; the respondent key links them."""
    key = task.respondent.get("key")
    if not key:
        return []
    return await _others(session, task, Task.respondent["key"].astext == key, scope, limit)


async def account_history(
    session: AsyncSession, task: Task, scope: Scope = (), limit: int = 20
) -> list[Task]:
    """The tasks of other respondents of the same account (company) in this tenant, newest
    first; none for a task without an account."""
    account = task.respondent.get("account_id")
    if not account:
        return []
    same = and_(
        Task.respondent["account_id"].astext == account,
        Task.respondent["key"].astext.is_distinct_from(task.respondent.get("key")),
    )
    return await _others(session, task, same, scope, limit)


async def _others(
    session: AsyncSession, task: Task, related: ColumnElement[bool], scope: Scope, limit: int
) -> list[Task]:
    query = (
        select(Task)
        .where(Task.tenant == task.tenant, related, Task.id != task.id, within(scope))
        .order_by(Task.answered_at.desc(), Task.id)
        .limit(limit)
    )
    return list(await session.scalars(query))


async def get_task(
    session: AsyncSession, tenant: str, task_id: uuid.UUID, *, lock: bool = False
) -> Task | None:
    query = select(Task).where(Task.id == task_id, Task.tenant == tenant)
    if lock:
        query = query.with_for_update()
    result: Task | None = await session.scalar(query)
    return result


async def set_task(session: AsyncSession, task: Task, **values: Any) -> None:
    await session.execute(update(Task).where(Task.id == task.id).values(**values))


_REVISE = text(
    "UPDATE notify.tasks AS t SET revision = r.revision, score = r.score, "
    "comment = r.comment, attached = CAST(r.attached AS jsonb), status = r.status, "
    "claimed_by = CASE WHEN r.requeue THEN NULL ELSE t.claimed_by END, "
    "claimed_at = CASE WHEN r.requeue THEN NULL ELSE t.claimed_at END "
    "FROM unnest(CAST(:id AS uuid[]), CAST(:revision AS int[]), CAST(:score AS int2[]), "
    "CAST(:comment AS text[]), CAST(:attached AS text[]), CAST(:status AS text[]), "
    "CAST(:requeue AS boolean[])) "
    "AS r(id, revision, score, comment, attached, status, requeue) WHERE t.id = r.id"
)
_REVISED = ("id", "revision", "score", "comment", "attached", "status", "requeue")


async def revise_tasks(session: AsyncSession, rows: Sequence[tuple[Any, ...]]) -> None:
    """Newer revisions onto their tasks, every row in one constant statement. A row: (task id,
    revision, score, comment, attached, status, requeue); `requeue` clears the
    claim (back in the queue for anyone)."""
    if rows:
        as_json = ((*r[:4], orjson.dumps(r[4]).decode(), *r[5:]) for r in rows)
        await session.execute(_REVISE, as_columns(as_json, _REVISED))


async def add_note(
    session: AsyncSession, task: Task, author: str, body: str, outcome: str | None = None
) -> None:
    session.add(
        TaskNote(task_id=task.id, tenant=task.tenant, author=author, body=body, outcome=outcome)
    )
    await session.flush()


async def add_completion(
    session: AsyncSession, task: Task, by: str, outcome: str, reason: str | None
) -> None:
    session.add(
        TaskCompletion(
            task_id=task.id, tenant=task.tenant, outcome=outcome, reason=reason, completed_by=by
        )
    )
    await session.flush()


async def mark_reopened(session: AsyncSession, task: Task, by: str) -> None:
    """The task's open completion (there is one while it is done) was reopened now."""
    await session.execute(
        update(TaskCompletion)
        .where(TaskCompletion.task_id == task.id, TaskCompletion.reopened_at.is_(None))
        .values(reopened_at=func.now(), reopened_by=by)
    )


async def completions(session: AsyncSession, task_id: uuid.UUID) -> list[TaskCompletion]:
    rows = await session.scalars(
        select(TaskCompletion)
        .where(TaskCompletion.task_id == task_id)
        .order_by(TaskCompletion.completed_at, TaskCompletion.id)
    )
    return list(rows)


async def notes(session: AsyncSession, task_id: uuid.UUID) -> list[TaskNote]:
    rows = await session.scalars(
        select(TaskNote).where(TaskNote.task_id == task_id).order_by(TaskNote.created_at)
    )
    return list(rows)


class Revisable(NamedTuple):
    """What a revision of a task's action needs of the task."""

    id: uuid.UUID
    tenant: str
    revision: int
    status: str


async def tasks_by_action(
    session: AsyncSession, action_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Revisable]:
    """The tasks of these actions, locked: a revision and a claim of one task queue up. Only
    the columns a revision reads: a whole task is an ORM object and three JSON documents to
    decode, for each of a burst's many revisions."""
    if not action_ids:
        return {}
    rows = await session.execute(
        select(Task.action_id, Task.id, Task.tenant, Task.revision, Task.status)
        .where(Task.action_id == any_(literal(list(action_ids), ARRAY(UUID(as_uuid=True)))))
        .with_for_update()
    )
    return {
        action: Revisable(id_, tenant, revision, status)
        for action, id_, tenant, revision, status in rows
    }


async def insert_tasks(session: AsyncSession, rows: list[dict[str, Any]]) -> set[uuid.UUID]:
    """Insert new tasks; returns the action ids of those that were not there before (for
    `created` events). One constant statement whatever the number (`anbefal.common.arrays`)."""
    if not rows:
        return set()
    columns, arrays = column_arrays(table_of(Task), rows)
    stmt = unnest_insert(
        table_of(Task), columns, "ON CONFLICT (action_id) DO NOTHING RETURNING action_id"
    )
    return set((await session.scalars(stmt, arrays)).all())


async def refresh_task_gauges(conn: AsyncConnection) -> None:
    """Open and overdue tasks per tenant, for /metrics (counted at scrape time, never drifts)."""
    rows = await conn.execute(
        select(
            Task.tenant,
            func.count(),
            func.count().filter(Task.due_at < func.now()),
            func.count().filter(~reachable()),
        )
        .where(Task.status.in_(ACTIVE))
        .group_by(Task.tenant)
    )
    metrics.TASKS_OPEN.clear()
    metrics.TASKS_OVERDUE.clear()
    metrics.TASKS_UNREACHABLE.clear()
    for tenant, open_, overdue, unreachable in rows:
        metrics.TASKS_OPEN.labels(metrics.tenant_label(tenant)).set(open_)
        metrics.TASKS_OVERDUE.labels(metrics.tenant_label(tenant)).set(overdue)
        metrics.TASKS_UNREACHABLE.labels(metrics.tenant_label(tenant)).set(unreachable)


async def tasks_past_warning(session: AsyncSession, now: datetime, limit: int) -> list[Task]:
    """Open tasks that have used 75% of their time and got no warning yet (rows locked)."""
    # In seconds: SQLAlchemy has no typed `interval * number`.
    used = func.extract("epoch", literal(now) - Task.answered_at)
    allowed = func.extract("epoch", Task.due_at - Task.answered_at)
    query = (
        select(Task)
        .where(
            Task.status.in_(ACTIVE),
            Task.due_at.is_not(None),
            Task.warned_at.is_(None),
            Task.escalated_at.is_(None),
            Task.due_at > now,
            used >= allowed * 0.75,
        )
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(await session.scalars(query))


async def tasks_past_due(session: AsyncSession, now: datetime, limit: int) -> list[Task]:
    """Open tasks past their due time and not escalated yet (rows locked: one copy each)."""
    query = (
        select(Task)
        .where(
            Task.status.in_(ACTIVE),
            Task.due_at <= now,
            Task.escalated_at.is_(None),
        )
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(await session.scalars(query))


async def tasks_past_next_level(session: AsyncSession, now: datetime, limit: int) -> list[Task]:
    """Escalated tasks still open `escalation_next_after_hours` past due, in tenants that have a
    next level and not escalated to it yet (rows locked: one copy each)."""
    after = func.make_interval(0, 0, 0, 0, 0, 0, Tenant.escalation_next_after_hours * 3600)
    query = (
        select(Task)
        .join(Tenant, Tenant.tenant == Task.tenant)
        .where(
            Task.status.in_(ACTIVE),
            Task.escalated_at.is_not(None),
            Task.escalated_next_at.is_(None),
            Tenant.escalation_next.is_not(None),
            Task.due_at + after <= now,
        )
        .limit(limit)
        .with_for_update(of=Task, skip_locked=True)
    )
    return list(await session.scalars(query))
