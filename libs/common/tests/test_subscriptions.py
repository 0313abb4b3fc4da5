"""Typed subscriptions: the topics come from the declared types, and each handler gets its own
type's events of a batch, tenant settings first, with one context for the batch."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common import topics
from anbefal.common.events import (
    EventModel,
    Respondent,
    Source,
    SurveyResponse,
    TaskEvent,
    TenantSettings,
    response_event_id,
)
from anbefal.common.kafka import HandlerContext, Message, Subscriptions
from anbefal.common.tracing import TRACE_HEADER

NOW = datetime(2026, 11, 20, 8, 15, tzinfo=UTC)
SESSION = cast(AsyncSession, object())


def answer(tenant: str, rid: str) -> SurveyResponse:
    return SurveyResponse(
        event_id=response_event_id(tenant, "api", rid), version=1, tenant=tenant, kind="nps",
        score=3, answered_at=NOW, received_at=NOW, source=Source(tool="api", response_id=rid),
        respondent=Respondent(key="c-1"),
    )  # fmt: skip


def settings(tenant: str) -> TenantSettings:
    return TenantSettings(tenant=tenant, display_name=tenant.title(), updated_at=NOW)


def task_event(tenant: str) -> TaskEvent:
    return TaskEvent(
        event_id=uuid.uuid4(), tenant=tenant, task_id=uuid.uuid4(), action_id=uuid.uuid4(),
        type="completed", at=NOW,
    )  # fmt: skip


def message(event: EventModel, offset: int, trace: str | None = None) -> Message:
    headers = ((TRACE_HEADER, trace.encode()),) if trace else ()
    return Message(event, "t", 0, offset, None, headers)


class Calls:
    def __init__(self) -> None:
        self.seen: list[tuple[str, list[EventModel]]] = []
        self.contexts: list[HandlerContext[Any]] = []

    def handler(self, name: str) -> Any:
        async def handle(ctx: HandlerContext[Any], events: Sequence[EventModel]) -> None:
            self.seen.append((name, list(events)))
            self.contexts.append(ctx)

        return handle


def test_the_topics_are_those_of_the_declared_types_tenant_settings_first() -> None:
    calls = Calls()
    subscriptions: Subscriptions[Any] = Subscriptions(
        {SurveyResponse: calls.handler("a"), TaskEvent: calls.handler("t"),
         TenantSettings: calls.handler("s")}
    )  # fmt: skip
    assert subscriptions.topics == (topics.TENANTS, topics.RESPONSES, topics.TASK_EVENTS)
    assert subscriptions.rank(topics.TENANTS) < subscriptions.rank(topics.RESPONSES)


def test_a_type_no_topic_carries_is_refused() -> None:
    class Stray(EventModel):
        pass

    with pytest.raises(ValueError, match="Stray"):
        Subscriptions({Stray: Calls().handler("x")})


async def test_each_handler_gets_its_own_types_events_tenant_settings_first() -> None:
    calls = Calls()
    subscriptions: Subscriptions[Any] = Subscriptions(
        {SurveyResponse: calls.handler("answers"), TaskEvent: calls.handler("tasks"),
         TenantSettings: calls.handler("settings")},
        clock=lambda: NOW,
    )  # fmt: skip
    a1, a2, t1, s1 = (
        answer("acme", "r1"),
        answer("acme", "r2"),
        task_event("beta"),
        settings("acme"),
    )
    await subscriptions.dispatch(
        SESSION,
        [message(a1, 1, "trace-1"), message(t1, 2), message(a2, 3, "trace-3"), message(s1, 4)],
    )
    assert calls.seen == [("settings", [s1]), ("answers", [a1, a2]), ("tasks", [t1])]
    (context, *others) = calls.contexts
    assert all(other is context for other in others)  # one context for the batch
    assert context.session is SESSION
    assert context.now == NOW
    assert context.trace_id(a1) == "trace-1"
    assert context.trace_id(a2) == "trace-3"
    assert context.trace_id(t1) is None
    assert await context.tenants() == {}  # no projection declared


async def test_a_type_without_events_in_the_batch_is_not_called() -> None:
    calls = Calls()
    subscriptions: Subscriptions[Any] = Subscriptions(
        {SurveyResponse: calls.handler("answers"), TaskEvent: calls.handler("tasks")}
    )
    a1 = answer("acme", "r1")
    await subscriptions.dispatch(SESSION, [message(a1, 1)])
    assert calls.seen == [("answers", [a1])]
