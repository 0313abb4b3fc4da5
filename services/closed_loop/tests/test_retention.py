"""Retention in closed_loop, moved through a fake clock against a real PostgreSQL: answers and
actions past their tenant's retention lose the respondent's identity and comments; younger ones
and other tenants' are untouched; every figure (scores, times, segments, rules, states) stays."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anbefal.closed_loop.handlers import subscriptions
from anbefal.closed_loop.models import ActionRow, AnswerRow
from anbefal.closed_loop.privacy.retention import anonymisers
from anbefal.common import topics
from anbefal.common.crypto import Keyring
from anbefal.common.datakeys import DataKeys
from anbefal.common.events import (
    Owners,
    Respondent,
    Source,
    SurveyResponse,
    TenantSettings,
    response_event_id,
)
from anbefal.common.kafka import Message
from anbefal.common.retention import RetentionWorker
from anbefal.devstack.testing import TEST_DATA_KEYS

pytestmark = pytest.mark.integration

KEYS = DataKeys(Keyring.parse(TEST_DATA_KEYS))
START = datetime(2026, 1, 5, 9, tzinfo=UTC)
DAY = timedelta(days=1)


def answer(tenant: str, rid: str, score: int, at: datetime) -> SurveyResponse:
    return SurveyResponse(
        event_id=response_event_id(tenant, "api", rid), version=1, tenant=tenant, kind="nps",
        score=score, comment=f"{rid}: ring Ida on +45 12345678", answered_at=at, received_at=at,
        source=Source(tool="api", response_id=rid),
        respondent=Respondent(key=f"c-{rid}", name="Ida Holm", email=f"{rid}@example.com",
                              locale="da"),
        segments={"department": "Support"},
        owners=Owners(director="d@x.dk", salesperson="s@x.dk"),
    )  # fmt: skip


def identity(at: datetime) -> datetime:
    return at


async def feed(db: async_sessionmaker[AsyncSession], *events: Any) -> None:
    """Each event through the real handler, decided at its own time."""
    for offset, event in enumerate(events):
        at = event.updated_at if isinstance(event, TenantSettings) else event.received_at
        topic = topics.TENANTS if isinstance(event, TenantSettings) else topics.RESPONSES
        message = Message(event, topic, 0, offset, event.key, ())
        async with db() as session, session.begin():
            await subscriptions(0, KEYS, clock=partial(identity, at)).dispatch(session, [message])


async def rows(db: async_sessionmaker[AsyncSession]) -> dict[str, dict[str, Any]]:
    """Every answer and action, by response id (and rule), as stored."""
    out: dict[str, dict[str, Any]] = {}
    async with db() as session:
        for a in await session.scalars(select(AnswerRow)):
            out[a.response["source"]["response_id"]] = dict(a.response)
        for act in await session.scalars(select(ActionRow)):
            rid = act.payload["response_event_id"]
            out[f"{rid}/{act.rule_id}"] = {
                **act.payload, "respondent_key": act.respondent_key, "state": (
                    act.revision, act.released_revision, act.cancelled, act.answered_at,
                    act.task_closed_at,
                ),
            }  # fmt: skip
    return out


IDENTITY = ("respondent", "comment", "respondent_key")


def figures(stored: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """What the figures and the rules read: everything but the identity."""
    return {k: {f: v for f, v in row.items() if f not in IDENTITY} for k, row in stored.items()}


def anonymised(row: dict[str, Any]) -> bool:
    respondent = row["respondent"]
    return (
        set(respondent) <= {"key", "locale"}
        and not respondent["key"].startswith("c-")
        and row.get("comment") is None
    )


def counted(kind: str) -> float:
    value = REGISTRY.get_sample_value(
        "anbefal_retention_anonymised_total", {"service": "closed_loop", "kind": kind}
    )
    return value or 0.0


async def test_expired_answers_and_actions_lose_identity_and_keep_figures(
    db: async_sessionmaker[AsyncSession],
) -> None:
    short, default = f"ret-{uuid.uuid4().hex[:6]}", f"ret-{uuid.uuid4().hex[:6]}"
    settings = TenantSettings(
        tenant=short, display_name="Short", answers_retention_days=30, updated_at=START
    )
    await feed(
        db,
        settings,
        answer(short, "old", 3, START),
        answer(short, "young", 10, START + 20 * DAY),
        answer(default, "other", 3, START),  # no settings: the default (730 days)
    )
    before = await rows(db)
    assert len(before) == 6  # three answers and their actions
    clock = [START + 40 * DAY]
    retention = RetentionWorker(
        "closed_loop", db, anonymisers(), interval_s=86_400, clock=lambda: clock[0]
    )
    answers_counted = counted("answers")

    assert await retention.worker.run_once() == 2  # the old answer and its call
    after = await rows(db)
    assert figures(after) == figures(before)
    changed = {k for k in after if after[k] != before[k]}
    old_id = str(response_event_id(short, "api", "old"))
    assert changed == {"old", f"{old_id}/detractor-call"}
    assert all(anonymised(after[k]) for k in changed)
    assert after["old"]["respondent"]["locale"] == "da"
    assert counted("answers") == answers_counted + 1
    assert await retention.worker.run_once() == 0  # nothing new: anonymised once

    clock[0] = START + 731 * DAY  # everything is past both retentions now
    while await retention.worker.run_once():
        pass
    final = await rows(db)
    assert figures(final) == figures(before)
    assert all(anonymised(row) for row in final.values())
    assert counted("answers") == answers_counted + 3
