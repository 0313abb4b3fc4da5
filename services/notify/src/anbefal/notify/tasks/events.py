"""Task lifecycle events for `anbefal.task-events.v1`, written to notify's outbox."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common import topics
from anbefal.common.events import TaskEvent
from anbefal.common.outbox import OutboxEvent, enqueue
from anbefal.notify.models import OUTBOX, TaskFacts

TaskEventType = str


def task_event(
    task: TaskFacts,
    type_: TaskEventType,
    actor: str | None,
    *,
    outcome: str | None = None,
    reason: str | None = None,
) -> OutboxEvent:
    # `created` happens once per task, so its id is fixed: a re-run handler enqueues nothing new.
    event_id = uuid.uuid5(task.id, "created") if type_ == "created" else uuid.uuid4()
    event = TaskEvent(
        event_id=event_id,
        tenant=task.tenant,
        task_id=task.id,
        action_id=task.action_id,
        type=type_,
        at=datetime.now(UTC),
        actor=actor,
        outcome=outcome,
        reason=reason,
    )
    return OutboxEvent(event_id, task.tenant, event.key, event.to_bytes())


async def record(session: AsyncSession, events: list[OutboxEvent]) -> None:
    await enqueue(session, OUTBOX, topics.TASK_EVENTS, events)
