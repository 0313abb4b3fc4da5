"""Retention in notify, moved through a fake clock against a real PostgreSQL: closed tasks past
their tenant's retention lose the respondent's identity, comments, notes and chat text; mail
past its retention loses address and text; open tasks, young rows and other tenants' rows are
untouched, and every figure (status, outcome, score, times, segments) stays."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anbefal.common import topics
from anbefal.common.events import Action, Respondent, TenantSettings, action_id
from anbefal.common.kafka import Message
from anbefal.common.retention import RetentionWorker
from anbefal.devstack.testing import (
    TEST_DATA_KEYS,
    TEST_JWT_SECRET,
    TEST_UNSUBSCRIBE_KEYS,
    call_task_action,
)
from anbefal.notify import handlers
from anbefal.notify.models import Email, Task, TaskNote
from anbefal.notify.privacy.retention import anonymisers
from anbefal.notify.settings import NotifySettings

pytestmark = pytest.mark.integration

SETTINGS = NotifySettings(
    jwt_secret=TEST_JWT_SECRET,
    data_keys=TEST_DATA_KEYS,
    unsubscribe_keys=TEST_UNSUBSCRIBE_KEYS,
    public_url="https://notify.example/",
)
DAY = timedelta(days=1)


def thank_you(tenant: str) -> Action:
    now = datetime.now(UTC)
    response = uuid.uuid4()
    return Action(
        action_id=action_id(response, "promoter-thanks"), tenant=tenant, type="email",
        rule_id="promoter-thanks", response_event_id=response, response_version=1, kind="nps",
        score=10, answered_at=now, decided_at=now, assignee="d@acme.example",
        assignee_role="director", template="thank_you",
        respondent=Respondent(key="c-bo", name="Bo", email="bo@example.com", locale="da"),
    )  # fmt: skip


async def feed(db: async_sessionmaker[AsyncSession], *events: Any) -> None:
    messages = [
        Message(e, topics.TENANTS if isinstance(e, TenantSettings) else topics.ACTIONS, 0, i,
                e.key, ())
        for i, e in enumerate(events)
    ]  # fmt: skip
    async with db() as session, session.begin():
        await handlers.subscriptions(SETTINGS).dispatch(session, messages)


async def snapshot(db: async_sessionmaker[AsyncSession]) -> dict[str, dict[str, Any]]:
    """Tasks and mail by their action, notes by id: the figures and the personal data."""
    async with db() as session:
        tasks = {
            f"task {t.action_id}": {
                "status": t.status, "score": t.score, "answered_at": t.answered_at,
                "segments": t.segments, "outcome": t.outcome, "respondent": t.respondent,
                "comment": t.comment,
            }
            for t in await session.scalars(select(Task))
        }  # fmt: skip
        emails = {
            f"mail {e.action_id}": {
                "template": e.template, "status": e.status, "created_at": e.created_at,
                "recipient": e.recipient, "body": e.body,
            }
            for e in await session.scalars(select(Email))
        }  # fmt: skip
        notes = {
            f"note {n.id}": {"task": n.task_id, "body": n.body}
            for n in await session.scalars(select(TaskNote))
        }
    return {**tasks, **emails, **notes}


PERSONAL = ("respondent", "comment", "recipient", "body")


def figures(rows: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(
        ({f: v for f, v in row.items() if f not in PERSONAL} for row in rows.values()), key=str
    )


def counted(kind: str) -> float:
    value = REGISTRY.get_sample_value(
        "anbefal_retention_anonymised_total", {"service": "notify", "kind": kind}
    )
    return value or 0.0


async def test_expired_tasks_and_mail_lose_personal_data_and_keep_figures(
    db: async_sessionmaker[AsyncSession],
) -> None:
    short, default = f"ret-{uuid.uuid4().hex[:6]}", f"ret-{uuid.uuid4().hex[:6]}"
    now = datetime.now(UTC)
    settings = TenantSettings(
        tenant=short, display_name="Short", tasks_retention_days=10, emails_retention_days=3,
        updated_at=now,
    )  # fmt: skip
    done, still_open, other = (
        call_task_action(short, 1), call_task_action(short, 2), call_task_action(default, 3)
    )  # fmt: skip
    await feed(db, settings, done, still_open, other, thank_you(short))
    async with db() as session, session.begin():
        await session.execute(
            update(Task)
            .where(Task.action_id.in_([done.action_id, other.action_id]))
            .values(status="done", outcome="reached", completed_at=now)
        )
        task = await session.scalar(select(Task).where(Task.action_id == done.action_id))
        assert task is not None
        session.add(TaskNote(task_id=task.id, tenant=short, author="a@x", body="Kunde 1 sad"))
        await session.execute(update(Email).values(status="sent", sent_at=now))
    before = await snapshot(db)
    clock = [now + 5 * DAY]
    retention = RetentionWorker(
        "notify", db, anonymisers(), interval_s=86_400, clock=lambda: clock[0]
    )
    tasks_counted, emails_counted = counted("tasks"), counted("emails")

    assert await retention.worker.run_once() == 1  # the thank-you mail; no task is old enough
    middle = await snapshot(db)
    assert figures(middle) == figures(before)
    (mail,) = [k for k in middle if k.startswith("mail") and middle[k] != before[k]]
    assert (middle[mail]["recipient"], middle[mail]["body"]) == (None, "[erased]")

    clock[0] = now + 11 * DAY
    assert await retention.worker.run_once() == 1  # the closed task of the short tenant
    after = await snapshot(db)
    assert figures(after) == figures(before)
    task_row = after[f"task {done.action_id}"]
    assert set(task_row["respondent"]) == {"key", "locale"}
    assert task_row["respondent"]["key"].startswith("erased:")
    assert task_row["comment"] is None
    assert [r["body"] for k, r in after.items() if k.startswith("note")] == ["[erased]"]
    # Still open (someone is to call) or the default tenant's young task: untouched.
    for untouched in (still_open, other):
        assert after[f"task {untouched.action_id}"] == before[f"task {untouched.action_id}"]
    assert await retention.worker.run_once() == 0
    assert counted("tasks") == tasks_counted + 1
    assert counted("emails") == emails_counted + 1
