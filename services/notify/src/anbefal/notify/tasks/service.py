"""Tasks from closed_loop's actions: a new action opens its task exactly once, a newer revision
of it changes the task in place (a late comment, a changed score, a cancellation)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.events import Action
from anbefal.common.logging import get_logger
from anbefal.notify.models import NewTask, Tenant
from anbefal.notify.reach import trusted_owner
from anbefal.notify.tasks import events, repository
from anbefal.notify.tasks.events import task_event
from anbefal.notify.tasks.lifecycle import after_revision

log = get_logger(__name__)


@dataclass
class Applied:
    """What a batch of task actions did: the tasks opened now, the tasks cancelled now."""

    created: list[NewTask] = field(default_factory=list)
    cancelled: list[uuid.UUID] = field(default_factory=list)


def task_row(action: Action, tenant: Tenant | None) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "action_id": action.action_id,
        "tenant": action.tenant,
        "type": action.type,
        "rule_id": action.rule_id,
        "assignee": action.assignee,
        "assignee_role": action.assignee_role,
        "due_at": action.due_at,
        "priority": action.priority,
        "response_event_id": action.response_event_id,
        "kind": action.kind,
        "score": action.score,
        "comment": action.comment,
        "answered_at": action.answered_at,
        "respondent": action.respondent.model_dump(),
        "segments": action.segments,
        "revision": action.revision,
        "attached": _attached(action),
        # First seen cancelled (revisions can arrive out of order): a tombstone, so the older
        # revision arriving later cannot open the task.
        "status": "cancelled" if action.cancelled else "open",
        "assignee_source": action.assignee_source,
        "assignee_trusted": trusted_owner(action.assignee, action.assignee_source, tenant),
        "due_clock": action.due_clock,
    }


def _new_task(row: dict[str, Any]) -> NewTask:
    """The task a row inserted, as the database holds it (its due time in UTC)."""
    due_at = row["due_at"]
    return NewTask(
        id=row["id"], action_id=row["action_id"], tenant=row["tenant"], type=row["type"],
        kind=row["kind"], status=row["status"], score=row["score"], comment=row["comment"],
        respondent=row["respondent"], due_at=due_at.astimezone(UTC) if due_at else None,
        assignee=row["assignee"], assignee_trusted=row["assignee_trusted"],
    )  # fmt: skip


def _attached(action: Action) -> list[dict[str, Any]]:
    return [a.model_dump(mode="json") for a in action.attached]


async def apply(
    session: AsyncSession, actions: Sequence[Action], tenants: Mapping[str, Tenant] | None = None
) -> Applied:
    """Open the tasks of new actions (each once: a redelivered action opens nothing) and apply
    newer revisions to the tasks that exist; `created` events go to the outbox. `tenants`: the
    actions' tenants as stored (their mail domain decides whether an owner is trusted)."""
    known = tenants or {}
    # A later revision's task mostly exists (a burst's detractors' later answers are attached
    # to their open task): those are read first, so the INSERT is not sent whole rows that it
    # would find there already.
    existing = await repository.tasks_by_action(
        session, [a.action_id for a in actions if a.revision > 1]
    )
    offered = [a for a in actions if a.action_id not in existing]
    rows = [task_row(a, known.get(a.tenant)) for a in offered]
    new_ids = await repository.insert_tasks(session, rows)
    # Offered and not inserted: the task exists after all (a redelivered first revision, or
    # another copy's insert that committed meanwhile).
    existing |= await repository.tasks_by_action(
        session, [a.action_id for a in offered if a.action_id not in new_ids]
    )
    cancelled = await _revise(session, [a for a in actions if a.action_id in existing], existing)
    created = [_new_task(r) for r in rows if r["action_id"] in new_ids and r["status"] == "open"]
    await events.record(session, [task_event(t, "created", None) for t in created])
    return Applied(created=created, cancelled=cancelled)


async def apply_revisions(session: AsyncSession, actions: Sequence[Action]) -> list[uuid.UUID]:
    """Newer revisions of actions whose task exists: the late comment, the changed score and
    the attached answers land on the task; a cancelled action takes it out of the queue. An
    older or repeated revision changes nothing. Returns the tasks cancelled now. One statement
    for the whole batch."""
    tasks = await repository.tasks_by_action(session, [a.action_id for a in actions])
    return await _revise(session, actions, tasks)


async def _revise(
    session: AsyncSession,
    actions: Sequence[Action],
    tasks: Mapping[uuid.UUID, repository.Revisable],
) -> list[uuid.UUID]:
    """`apply_revisions` with the actions' tasks read (locked) already."""
    cancelled = []
    revised = []
    for action in actions:
        task = tasks.get(action.action_id)
        if task is None or action.revision <= task.revision:
            continue
        status = after_revision(task.status, action.cancelled)
        # A revived task is back in the queue for anyone.
        requeue = task.status == "cancelled" and status == "open"
        revised.append(
            (task.id, action.revision, action.score, action.comment, _attached(action), status,
             requeue)
        )  # fmt: skip
        if status == "cancelled":
            cancelled.append(task.id)
        log.info(
            "task revised", tenant=task.tenant, task_id=str(task.id),
            revision=action.revision, status=status,
        )  # fmt: skip
    await repository.revise_tasks(session, revised)
    return cancelled
