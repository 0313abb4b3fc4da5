"""scoring's personal data against a real PostgreSQL: an answer sealed by ingest is still found
by the respondent's address (erasure by email), and retention, moved through a fake clock,
unlinks answers past their tenant's retention without changing a figure."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anbefal.common import topics
from anbefal.common.contact import seal_events
from anbefal.common.crypto import Keyring
from anbefal.common.datakeys import DataKeys
from anbefal.common.erasure import identity_hash
from anbefal.common.events import (
    Respondent,
    Source,
    SurveyResponse,
    TenantSettings,
    response_event_id,
)
from anbefal.common.kafka import Message
from anbefal.common.retention import RetentionWorker
from anbefal.devstack.testing import TEST_DATA_KEYS
from anbefal.scoring.handlers import subscriptions
from anbefal.scoring.models import Answer, DailyBucket
from anbefal.scoring.privacy.retention import anonymisers

pytestmark = pytest.mark.integration

KEYRING = Keyring.parse(TEST_DATA_KEYS)
START = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
DAY = timedelta(days=1)


def answer(tenant: str, rid: str, score: int, at: datetime, kind: str = "nps") -> SurveyResponse:
    return SurveyResponse(
        event_id=response_event_id(tenant, "api", rid), version=1, tenant=tenant, kind=kind,
        score=score, answered_at=at, received_at=at, source=Source(tool="api", response_id=rid),
        respondent=Respondent(key=f"c-{rid}", name="Ida", email=f"{rid}@Example.com"),
        segments={"department": "Support"}, comment=f"Prisen er for høj ({rid})",
    )  # fmt: skip


async def feed(db: async_sessionmaker[AsyncSession], *events: Any) -> None:
    """The answers sealed as ingest publishes them, then through scoring's handler."""
    async with db() as session, session.begin():
        sealed = await seal_events(session, DataKeys(KEYRING), list(events))
        messages = [
            Message(e, topics.TENANTS if isinstance(e, TenantSettings) else topics.RESPONSES,
                    0, i, e.key, ())
            for i, e in enumerate(sealed)
        ]  # fmt: skip
        await subscriptions("Europe/Copenhagen", KEYRING).dispatch(session, messages)


async def stored(db: async_sessionmaker[AsyncSession]) -> tuple[dict[str, Any], list[Any]]:
    async with db() as session:
        answers = {
            str(a.event_id): (
                a.score,
                a.day,
                a.segments,
                a.respondent_hash,
                a.email_hash,
                a.comment,
                a.respondent_name,
                a.respondent_key,
            )
            for a in await session.scalars(select(Answer))
        }
        buckets = sorted(
            (b.tenant, b.dimension, b.value, b.day, b.promoters, b.passives, b.detractors)
            for b in await session.scalars(select(DailyBucket))
        )
    return answers, buckets


async def test_a_sealed_answer_is_found_by_the_respondents_address(
    db: async_sessionmaker[AsyncSession],
) -> None:
    tenant = f"sc-{uuid.uuid4().hex[:6]}"
    await feed(db, answer(tenant, "r1", 9, START))
    answers, _ = await stored(db)
    (row,) = answers.values()
    assert row[4] == identity_hash(KEYRING, tenant, "email", "r1@example.com")


async def test_retention_unlinks_expired_answers_and_keeps_every_figure(
    db: async_sessionmaker[AsyncSession],
) -> None:
    short, default = f"sc-{uuid.uuid4().hex[:6]}", f"sc-{uuid.uuid4().hex[:6]}"
    settings = TenantSettings(
        tenant=short, display_name="Short", answers_retention_days=30, updated_at=START
    )
    await feed(
        db,
        settings,
        answer(short, "old", 3, START),
        answer(short, "young", 10, START + 20 * DAY),
        answer(default, "other", 7, START),
    )
    answers, buckets = await stored(db)
    assert all(row[3] and row[4] and row[5] and row[6] and row[7] for row in answers.values())
    clock = [START + 40 * DAY]
    retention = RetentionWorker(
        "scoring", db, anonymisers(), interval_s=86_400, clock=lambda: clock[0]
    )

    assert await retention.worker.run_once() == 1
    after, after_buckets = await stored(db)
    assert after_buckets == buckets
    old = str(response_event_id(short, "api", "old"))
    assert after[old][3:] == (None, None, None, None, None)
    assert {k: v[:3] for k, v in after.items()} == {k: v[:3] for k, v in answers.items()}
    assert {k: v for k, v in after.items() if k != old} == {
        k: v for k, v in answers.items() if k != old
    }
    assert await retention.worker.run_once() == 0

    clock[0] = START + 731 * DAY
    assert await retention.worker.run_once() == 2
    final, final_buckets = await stored(db)
    assert final_buckets == buckets
    assert all(row[3:] == (None, None, None, None, None) for row in final.values())


async def test_retention_clears_an_employees_comment(
    db: async_sessionmaker[AsyncSession],
) -> None:
    """eNPS answers hold no link to a person, but their comment may name one: it goes too."""
    tenant = f"sc-{uuid.uuid4().hex[:6]}"
    settings = TenantSettings(
        tenant=tenant, display_name="Staff", answers_retention_days=30, updated_at=START
    )
    staff = answer(tenant, "staff", 4, START, kind="enps").model_copy(
        update={"respondent": Respondent(key="e-1")}
    )
    await feed(db, settings, staff)
    answers, buckets = await stored(db)
    (row,) = answers.values()
    assert row[5:] == ("Prisen er for høj (staff)", None, None)
    retention = RetentionWorker(
        "scoring", db, anonymisers(), interval_s=86_400, clock=lambda: START + 40 * DAY
    )
    assert await retention.worker.run_once() == 1
    after, after_buckets = await stored(db)
    assert after_buckets == buckets
    assert after[str(staff.event_id)] == (*row[:5], None, None, None)
    assert await retention.worker.run_once() == 0
