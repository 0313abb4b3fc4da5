"""Newer revisions of actions land on their tasks, against PostgreSQL: the late comment, the
changed score, a cancellation and a revival, all of a batch in one statement."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, select, update

from anbefal.common.db import create_engine, create_sessionmaker
from anbefal.common.events import Action, Respondent
from anbefal.notify.models import Task
from anbefal.notify.tasks import service as tasks

pytestmark = pytest.mark.integration

AT = datetime(2026, 12, 1, 9, 17, tzinfo=UTC)


def action(n: int, *, revision: int = 1, cancelled: bool = False, comment: str = "") -> Action:
    return Action(
        action_id=uuid.uuid5(uuid.NAMESPACE_URL, f"revisions-{n}"), tenant="acme",
        type="call_task", rule_id="detractor-call",
        response_event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"answer-{n}"), response_version=1,
        kind="nps", score=3, comment=comment or None, answered_at=AT, decided_at=AT,
        assignee="boss@acme.example", assignee_role="director",
        respondent=Respondent(key=f"c-{n}"), revision=revision, cancelled=cancelled,
    )  # fmt: skip


async def test_a_batchs_revisions_are_one_update(stack: Any) -> None:
    engine = create_engine(stack.new_database(), pool_size=1)
    db = create_sessionmaker(engine)
    updates: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE"):
            updates.append(statement)

    try:
        async with db() as session, session.begin():
            await tasks.apply(session, [action(n) for n in range(4)])
            await session.execute(
                update(Task)
                .where(Task.action_id.in_([action(1).action_id, action(3).action_id]))
                .values(status="claimed", claimed_by="ida@acme.example", claimed_at=AT)
            )
            await tasks.apply(session, [action(3, revision=2, cancelled=True)])
        event.listen(engine.sync_engine, "before_cursor_execute", count)
        async with db() as session, session.begin():
            cancelled = await tasks.apply_revisions(
                session,
                [
                    action(0, revision=2, comment="ring me after five"),
                    action(1, revision=3, cancelled=True),
                    action(2, revision=1, comment="a repeat changes nothing"),
                    action(3, revision=3, comment="revived"),
                ],
            )
        event.remove(engine.sync_engine, "before_cursor_execute", count)
        async with db() as session:
            rows = {
                t.action_id: t
                for t in await session.scalars(select(Task).where(Task.tenant == "acme"))
            }
    finally:
        await engine.dispose()

    late, held, repeated, revived = (rows[action(n).action_id] for n in range(4))
    assert (late.revision, late.comment, late.status) == (2, "ring me after five", "open")
    assert (held.revision, held.status, held.claimed_by) == (3, "cancelled", "ida@acme.example")
    assert cancelled == [held.id]
    assert (repeated.revision, repeated.comment) == (1, None)
    assert (revived.revision, revived.comment, revived.status) == (3, "revived", "open")
    assert (revived.claimed_by, revived.claimed_at) == (None, None)  # back in the queue
    assert len(updates) == 1, updates
