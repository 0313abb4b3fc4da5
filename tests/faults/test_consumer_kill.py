"""SIGKILL the scoring process in the middle of a stream: every answer is counted exactly once."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from anbefal.common import topics
from anbefal.common.events import Respondent, Source, SurveyResponse, response_event_id
from anbefal.common.kafka import Publisher
from anbefal.devstack.chaos import BUCKET_MISMATCHES
from anbefal.devstack.testing import ServiceProcess, asyncpg_dsn, caught_up, wait_until

pytestmark = [pytest.mark.fault, pytest.mark.integration]

ANSWERS = 3000
KILLS = 3


def make_answer(tenant: str, i: int, now: datetime) -> SurveyResponse:
    response_id = f"r-{i}"
    return SurveyResponse(
        event_id=response_event_id(tenant, "api", response_id),
        version=1,
        tenant=tenant,
        kind="nps",
        score=i % 11,
        answered_at=now - timedelta(days=i % 20, minutes=i % 997),
        received_at=now,
        source=Source(tool="api", response_id=response_id),
        respondent=Respondent(key=f"c-{i % 400}"),
        segments={"department": f"d{i % 7}", "country": ("DK", "SE", "NO")[i % 3]},
    )


async def test_scoring_killed_mid_stream_counts_every_answer_once(stack: Any) -> None:
    rng = random.Random(20261122)
    database_url = stack.new_database()
    env = stack.service_env(database_url)
    group = f"{env['ANBEFAL_GROUP_PREFIX']}-scoring"
    tenant = f"kill-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    answers = [make_answer(tenant, i, now) for i in range(ANSWERS)]
    # Redeliveries, as a retrying survey tool and ingest produce them: same id, same version.
    stream = answers + rng.sample(answers, ANSWERS // 10)
    rng.shuffle(stream)

    scoring = ServiceProcess("scoring", env, stack.root / "logs").start()
    await scoring.wait_ready()
    publisher = Publisher(stack.kafka.bootstrap, timeout=10, client_id="kill-test")
    await publisher.start()
    await publisher.wait_ready(30)
    kills = 0
    try:
        chunks = [stream[i : i + 50] for i in range(0, len(stream), 50)]
        kill_at = set(rng.sample(range(5, len(chunks) - 5), KILLS))
        for n, chunk in enumerate(chunks):
            await publisher.send_many(
                topics.RESPONSES, [(a.key, a.to_bytes(), None) for a in chunk]
            )
            if n in kill_at:
                # Let it get into the batch, then kill it without warning and start a new one.
                await asyncio.sleep(rng.uniform(0.05, 0.5))
                scoring.kill()
                kills += 1
                scoring = ServiceProcess("scoring", env, stack.root / "logs").start()
            await asyncio.sleep(0.01)
        assert kills == KILLS
        await scoring.wait_ready()

        async def done() -> bool:
            return await caught_up(
                stack.kafka.bootstrap, database_url, "scoring", group, [topics.RESPONSES]
            )

        await wait_until(done, 180, "scoring caught up after the kills")
    finally:
        await publisher.stop()
        scoring.stop()

    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        stored = await conn.fetchval(
            "SELECT count(*) FROM scoring.answers WHERE tenant = $1", tenant
        )
        bucket_total = await conn.fetchval(
            "SELECT sum(promoters + passives + detractors) FROM scoring.daily_buckets "
            "WHERE tenant = $1 AND dimension = 'all'",
            tenant,
        )
        # The buckets must equal a full recomputation from the stored answers, per segment.
        mismatches = await conn.fetch(BUCKET_MISMATCHES, tenant)
        answers_per_segment = await conn.fetchval(
            "SELECT sum(promoters + passives + detractors) FROM scoring.daily_buckets "
            "WHERE tenant = $1 AND dimension = 'country'",
            tenant,
        )
    finally:
        await conn.close()
    assert stored == ANSWERS
    assert bucket_total == ANSWERS
    assert answers_per_segment == ANSWERS
    assert [dict(r) for r in mismatches] == []
