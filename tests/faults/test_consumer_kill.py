"""SIGKILL the scoring process in the middle of a stream: every answer is counted exactly once.

Scale (anbefal.devstack.chaos): 3,000 answers and 3 kills by default (CI); with
ANBEFAL_CHAOS_SCALE=full (`make chaos`) the issue's 20,000 answers and 8 kills.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from anbefal.common import topics
from anbefal.common.events import Respondent, Source, SurveyResponse, response_event_id
from anbefal.common.kafka import Publisher
from anbefal.devstack.chaos import BUCKET_MISMATCHES, record_row, scale
from anbefal.devstack.testing import ServiceProcess, asyncpg_dsn, caught_up, wait_until

pytestmark = [pytest.mark.fault, pytest.mark.integration]

ANSWERS = scale(3000, 20_000)
KILLS = scale(3, 8)


def make_answer(tenant: str, i: int, now: datetime, version: int = 1) -> SurveyResponse:
    response_id = f"r-{i}"
    # A later version edits the score and moves the answer to another department and day.
    j = i + 5 * (version - 1)
    return SurveyResponse(
        event_id=response_event_id(tenant, "api", response_id),
        version=version,
        tenant=tenant,
        kind="nps",
        score=j % 11,
        answered_at=now - timedelta(days=j % 20, minutes=i % 997),
        received_at=now,
        source=Source(tool="api", response_id=response_id),
        respondent=Respondent(key=f"c-{i % 400}"),
        segments={"department": f"d{j % 7}", "country": ("DK", "SE", "NO")[i % 3]},
    )


async def test_scoring_killed_mid_stream_counts_every_answer_once(stack: Any) -> None:
    rng = random.Random(20261122)
    database_url = stack.new_database()
    env = stack.service_env(database_url)
    group = f"{env['ANBEFAL_GROUP_PREFIX']}-scoring"
    tenant = f"kill-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    answers = [make_answer(tenant, i, now) for i in range(ANSWERS)]
    edited = rng.sample(range(ANSWERS), ANSWERS // 20)
    # Redeliveries, as a retrying survey tool and ingest produce them: same id, same version;
    # and edits (version 2), which move an answer between buckets. Shuffled, so some edits
    # arrive before the answer they replace (which is then ignored as older).
    stream = answers + rng.sample(answers, ANSWERS // 10)
    stream += [make_answer(tenant, i, now, version=2) for i in edited]
    rng.shuffle(stream)
    # Each answer changes the tenant total once when first stored, and once more for an edit
    # that comes after it in a later batch (within one batch only the newest version counts;
    # an edit that overtakes its first version makes that one a no-op). Batching depends on
    # timing, so the exact figure lies between the answers and this stream-order count.
    # Same key, same partition: the stream's order is the order scoring sees.
    seen: set[int] = set()
    most_changes = 0
    for a in stream:
        i = int(a.source.response_id.removeprefix("r-"))
        if a.version == 2 or i not in seen:
            most_changes += 1
        seen.add(i)
    started = time.monotonic()

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
        # The counter behind the eNPS publication guard and the score events: exactly once too.
        changes = await conn.fetchval(
            "SELECT changes FROM scoring.segment_state WHERE tenant = $1 AND kind = 'nps' "
            "AND dimension = 'all' AND value = 'all'",
            tenant,
        )
        versions = await conn.fetchval(
            "SELECT sum(version) FROM scoring.answers WHERE tenant = $1", tenant
        )
        answers_per_segment = await conn.fetchval(
            "SELECT sum(promoters + passives + detractors) FROM scoring.daily_buckets "
            "WHERE tenant = $1 AND dimension = 'country'",
            tenant,
        )
    finally:
        await conn.close()
    record_row(
        {
            "fault": f"scoring SIGKILLed {kills}x mid-stream (test_consumer_kill)",
            "sent": len(stream),
            "acknowledged": len(stream),
            "stored": stored,
            "duplicates": max(0, bucket_total - stored),
            "lost": ANSWERS - stored,
            "ok": stored == bucket_total == ANSWERS and not mismatches,
            "scale": "full" if ANSWERS == 20_000 else "small",
            "seconds": round(time.monotonic() - started, 1),
        }
    )
    assert stored == ANSWERS
    assert versions == ANSWERS + len(edited)  # every edit won over its first version
    # Counting a redelivery or an overtaken first version as a change would overshoot.
    assert ANSWERS <= changes <= most_changes
    assert bucket_total == ANSWERS
    assert answers_per_segment == ANSWERS
    assert [dict(r) for r in mismatches] == []
