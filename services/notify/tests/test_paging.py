"""True counts and cursor pages over the queue and the delivery logs (against PostgreSQL)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anbefal.common.auth import Principal, Role
from anbefal.common.errors import ServiceError
from anbefal.notify.models import Email, StaffUser, Task
from anbefal.notify.repository import delivery_log
from anbefal.notify.tasks import queue

pytestmark = pytest.mark.integration
READER = Principal(tenant="acme", role=Role.AGENT, sub="ida@acme.example")
NOW = datetime.now(UTC)


def task(n: int, tenant: str = "acme") -> Task:
    # Every third task overdue, every fifth claimed, a few without a due time, equal due times
    # and priorities in runs (the id must break the ties).
    return Task(
        id=uuid.uuid4(), action_id=uuid.uuid4(), tenant=tenant, type="call_task",
        rule_id="detractor-call", status="claimed" if n % 5 == 0 else "open",
        claimed_by="ida@acme.example" if n % 5 == 0 else None,
        assignee="boss@acme.example", assignee_role="director",
        due_at=None if n % 50 == 7 else NOW + timedelta(hours=(n // 3 + 1) * (-1 if n % 3 else 1)),
        priority=n % 2, response_event_id=uuid.uuid4(), kind="nps", score=3,
        answered_at=NOW, respondent={"key": f"c-{n}"}, segments={},
    )  # fmt: skip


async def test_600_tasks_page_with_true_counts(db: async_sessionmaker[AsyncSession]) -> None:
    made = [task(n) for n in range(600)] + [task(n, "other") for n in range(5)]
    made[1].status = "done"
    async with db() as session, session.begin():
        session.add_all(made)
        session.add(
            StaffUser(tenant="acme", email="boss@acme.example", name="B", role="director",
                      password_hash="x")
        )  # fmt: skip
    mine = [t for t in made if t.tenant == "acme"]
    active = [t for t in mine if t.status in ("open", "claimed")]
    async with db() as session:
        seen: list[Task] = []
        cursor = None
        while True:
            page = await queue.waiting(session, READER, mine=None, limit=250, cursor=cursor)
            seen += page.tasks
            assert page.counts.total == len(active) == 599
            assert page.counts.claimed == sum(t.status == "claimed" for t in active)
            assert page.counts.open == sum(t.status == "open" for t in active)
            assert page.counts.overdue == sum(bool(t.due_at and t.due_at < NOW) for t in active)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert len(seen) == 599
        assert len({t.id for t in seen}) == 599
        keys = [(t.due_at or datetime.max.replace(tzinfo=UTC), -t.priority) for t in seen]
        assert keys == sorted(keys)
        every = await queue.tasks(session, READER, None, 500, None)
        assert (every.counts.total, len(every.tasks)) == (600, 500)
        rest = await queue.tasks(session, READER, None, 500, every.next_cursor)
        assert len(rest.tasks) == 100
        assert rest.next_cursor is None
        with pytest.raises(ServiceError) as bad:
            await queue.tasks(session, READER, None, 10, "not-a-cursor")
        assert bad.value.status == 422


async def test_the_email_log_pages_newest_first(db: async_sessionmaker[AsyncSession]) -> None:
    async with db() as session, session.begin():
        session.add_all(
            Email(
                id=uuid.uuid4(),
                action_id=uuid.uuid4(),
                tenant="acme",
                template="thank_you",
                message_id=f"<{n}@x>",
                sender="s@x",
                recipient="r@x",
                subject="s",
                body="b",
                created_at=NOW - timedelta(minutes=n % 7),
            )  # fmt: skip
            for n in range(23)
        )
    async with db() as session:
        ids: list[uuid.UUID] = []
        cursor = None
        while True:
            page = await delivery_log(session, Email, "acme", cursor, 10)
            assert page.total == 23
            ids += [e.id for e in page.rows]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert len(set(ids)) == 23
