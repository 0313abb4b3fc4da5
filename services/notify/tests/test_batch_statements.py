"""The action handler's cost per batch is a constant number of statements, whatever its size."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from anbefal.common import topics
from anbefal.common.db import create_engine, create_sessionmaker
from anbefal.common.events import Action, Respondent, action_id
from anbefal.common.kafka import Message
from anbefal.devstack.testing import (
    TEST_DATA_KEYS,
    TEST_JWT_SECRET,
    TEST_UNSUBSCRIBE_KEYS,
    statements_run,
)
from anbefal.notify import handlers
from anbefal.notify.settings import NotifySettings

pytestmark = pytest.mark.integration

SETTINGS = NotifySettings(
    jwt_secret=TEST_JWT_SECRET,
    data_keys=TEST_DATA_KEYS,
    unsubscribe_keys=TEST_UNSUBSCRIBE_KEYS,
    public_url="https://notify.example/",
)
NOW = datetime.now(UTC)
RULES = (("detractor-call", "call_task"), ("passive-follow-up", "follow_up_task"),
         ("promoter-thank-you", "email"))  # fmt: skip


@pytest.fixture(scope="module")
async def engine(stack: Any) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(stack.new_database(), pool_size=2)
    yield engine
    await engine.dispose()


def action(tenant: str, n: int, *, revision: int = 1, comment: str | None = None) -> Action:
    rule_id, type_ = RULES[n % 3]
    response = uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant}-{n}")
    return Action(
        action_id=action_id(response, rule_id), tenant=tenant, type=type_, rule_id=rule_id,
        response_event_id=response, response_version=revision, kind="nps",
        score=(3, 8, 10)[n % 3], comment=comment, answered_at=NOW - timedelta(minutes=n),
        decided_at=NOW, received_at=NOW, assignee="director@acme.example",
        assignee_role="director", due_at=NOW + timedelta(hours=48), priority=2,
        template="thank_you" if type_ == "email" else None,
        respondent=Respondent(key=f"c-{n}", name=f"Kunde {n}", email=f"c{n}@example.com",
                              phone=f"+45 12 34 {n:04d}", locale="da"),
        revision=revision,
    )  # fmt: skip


async def send(engine: AsyncEngine, actions: list[Action]) -> None:
    messages = [Message(a, topics.ACTIONS, 0, i, a.key, ()) for i, a in enumerate(actions)]
    async with create_sessionmaker(engine)() as session, session.begin():
        await handlers.subscriptions(SETTINGS).dispatch(session, messages)


async def statements_for(engine: AsyncEngine, n: int) -> tuple[list[str], list[str]]:
    """The statements of a batch of `n` new actions (tasks and thank-you mails), then of a
    batch of their next revisions (a late comment)."""
    tenant = f"s-{uuid.uuid4().hex[:8]}"
    with statements_run(engine) as first:
        await send(engine, [action(tenant, i) for i in range(n)])
    with statements_run(engine) as second:
        await send(engine, [action(tenant, i, revision=2, comment=f"late {i}") for i in range(n)])
    return first, second


async def test_a_batch_costs_the_same_statements_whatever_its_size(engine: AsyncEngine) -> None:
    small_new, small_revised = await statements_for(engine, 21)
    large_new, large_revised = await statements_for(engine, 84)
    assert len(large_new) == len(small_new), (len(small_new), len(large_new))
    assert len(large_revised) == len(small_revised), (len(small_revised), len(large_revised))


async def test_a_batch_reads_the_owners_once_and_chat_webhooks_only_for_a_post(
    engine: AsyncEngine,
) -> None:
    tenant = f"s-{uuid.uuid4().hex[:8]}"
    with statements_run(engine) as mixed:  # a call task, a follow-up, a thank-you
        await send(engine, [action(tenant, i) for i in range(3)])
    with statements_run(engine) as follow_up:  # nothing a chat channel is told of
        await send(engine, [action(tenant, 4)])
    assert sum("staff_users" in s for s in mixed) == 1
    assert not any("chat_webhooks" in s for s in follow_up)


async def test_later_revisions_of_tasks_that_exist_are_not_offered_to_the_insert(
    engine: AsyncEngine,
) -> None:
    """A burst's revisions (a detractor's later answers attached to the open task) are read
    and revised, not sent whole to an INSERT that finds each one there already."""
    tenant = f"s-{uuid.uuid4().hex[:8]}"
    tasks_only = [action(tenant, i) for i in range(6) if i % 3 != 2]
    await send(engine, tasks_only)
    with statements_run(engine) as revised:
        await send(engine, [a.model_copy(update={"revision": 2}) for a in tasks_only])
    assert not any(s.startswith("INSERT INTO notify.tasks") for s in revised), revised


async def test_new_tasks_are_not_read_back_from_the_insert(engine: AsyncEngine) -> None:
    """The rows a batch inserts are the ones it built: the INSERT returns which actions it
    took, not every column of every task (three JSON documents each) to decode again."""
    tenant = f"s-{uuid.uuid4().hex[:8]}"
    with statements_run(engine) as new:
        await send(engine, [action(tenant, i) for i in range(3)])
    (insert,) = [s for s in new if s.startswith("INSERT INTO notify.tasks")]
    assert insert.endswith("RETURNING action_id"), insert
