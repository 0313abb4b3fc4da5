"""The answer handler's cost per batch is a constant number of statements, whatever its size."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from anbefal.closed_loop.handlers import subscriptions
from anbefal.common import topics
from anbefal.common.crypto import Keyring
from anbefal.common.datakeys import DataKeys
from anbefal.common.db import create_engine, create_sessionmaker
from anbefal.common.events import (
    Owners,
    Respondent,
    Source,
    SurveyResponse,
    TaskEvent,
    response_event_id,
)
from anbefal.common.kafka import Message
from anbefal.devstack.testing import TEST_DATA_KEYS, statements_run

pytestmark = pytest.mark.integration

KEYS = DataKeys(Keyring.parse(TEST_DATA_KEYS))
START = datetime(2026, 11, 2, 9, tzinfo=UTC)


@pytest.fixture(scope="module")
async def engine(stack: Any) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(stack.new_database(), pool_size=2)
    yield engine
    await engine.dispose()


def answer(tenant: str, n: int, *, version: int = 1, comment: str | None = "x") -> SurveyResponse:
    return SurveyResponse(
        event_id=response_event_id(tenant, "api", f"r{n}"), version=version, tenant=tenant,
        kind="nps", score=n % 11, comment=comment, answered_at=START - timedelta(minutes=n),
        received_at=START, source=Source(tool="api", response_id=f"r{n}"),
        respondent=Respondent(key=f"c-{n % 7 if n % 3 == 0 else n}", email=f"c{n}@example.com",
                              account_id="acme" if n % 2 else None),
        owners=Owners(director="d@x.dk", salesperson="s@x.dk"),
    )  # fmt: skip


async def send(db: async_sessionmaker[AsyncSession], answers: list[SurveyResponse]) -> None:
    messages = [
        Message(a, topics.RESPONSES, 0, i, a.key, ()) for i, a in enumerate(answers, start=1)
    ]
    async with db() as session, session.begin():
        await subscriptions(0.0, KEYS, clock=lambda: START).dispatch(session, messages)


async def statements_for(engine: AsyncEngine, n: int) -> tuple[list[str], list[str]]:
    """The statements of a batch of `n` new answers (some of them repeat respondents, under a
    cool-down), then of a batch of their late comments (revisions of released actions)."""
    db = create_sessionmaker(engine)
    tenant = f"s-{uuid.uuid4().hex[:8]}"
    with statements_run(engine) as first:
        await send(db, [answer(tenant, i, comment=None) for i in range(n)])
    with statements_run(engine) as second:
        await send(db, [answer(tenant, i, version=2, comment=f"late {i}") for i in range(n)])
    return first, second


async def test_a_batch_costs_the_same_statements_whatever_its_size(engine: AsyncEngine) -> None:
    small_new, small_revised = await statements_for(engine, 20)
    large_new, large_revised = await statements_for(engine, 80)
    assert len(large_new) == len(small_new), (len(small_new), len(large_new))
    assert len(large_revised) == len(small_revised), (len(small_revised), len(large_revised))


async def test_task_events_that_change_no_cool_down_cost_no_statement(engine: AsyncEngine) -> None:
    # Every task notify opens is a `created` event; only completing and reopening a task
    # change its action (the cool-down), so the rest must not load and lock action rows.
    tenant = f"s-{uuid.uuid4().hex[:8]}"
    events = [
        TaskEvent(event_id=uuid.uuid4(), tenant=tenant, task_id=uuid.uuid4(),
                  action_id=uuid.uuid4(), type=kind, at=START)
        for kind in ("created", "claimed", "escalated", "reassigned") * 5
    ]  # fmt: skip
    messages = [Message(e, topics.TASK_EVENTS, 0, i, e.key, ()) for i, e in enumerate(events)]
    with statements_run(engine) as seen:
        async with create_sessionmaker(engine)() as session, session.begin():
            await subscriptions(0.0, KEYS, clock=lambda: START).dispatch(session, messages)
    assert [s for s in seen if "closed_loop.actions" in s] == []


async def test_a_batch_of_answers_keeps_no_inbox_beside_the_answers_table(
    engine: AsyncEngine,
) -> None:
    # The answers table keeps each answer's latest version and refuses one not newer, so it
    # already tells a redelivered version from a new one: an inbox of (answer, version) pairs
    # beside it was a second insert and index entry per answer that decided nothing.
    first, second = await statements_for(engine, 20)
    assert [s for s in first + second if "evaluated" in s] == []
