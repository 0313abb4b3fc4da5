"""SIGKILL the closed_loop process at random moments while answers stream (late comments,
changed scores, redeliveries, stale versions and respondents answering again inside the
cool-down among them): afterwards every (answer, rule) has at most one action, every revision
of it was published as one decision, and the final state is what the answers' latest versions
call for: each detractor in exactly one open call (its own, or attached to the respondent's),
every other answer with its own action."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from anbefal.closed_loop.rules import RoutingSettings, decide
from anbefal.common import topics
from anbefal.common.events import (
    Action,
    Owners,
    Respondent,
    Source,
    SurveyResponse,
    action_id,
    response_event_id,
)
from anbefal.common.kafka import Publisher
from anbefal.devstack.chaos import scale
from anbefal.devstack.testing import (
    ServiceProcess,
    asyncpg_dsn,
    caught_up,
    end_offsets,
    wait_until,
)

pytestmark = [pytest.mark.fault, pytest.mark.integration]

ANSWERS = scale(1200, 10_000)
RESPONDENTS = ANSWERS // 4
KILLS = scale(4, 12)


def make_answer(tenant: str, i: int, version: int, now: datetime) -> SurveyResponse:
    """Answer i: a third come without a comment; every fifth gets a second version, which
    brings the late comment or (every tenth) a changed score."""
    score = i % 11
    comment = None if i % 3 == 0 else f"comment {i}"
    if version == 2:
        if i % 10 == 0:
            score = (score + 5) % 11
        comment = f"later comment {i}"
    rid = f"r-{i}"
    return SurveyResponse(
        event_id=response_event_id(tenant, "api", rid), version=version, tenant=tenant,
        kind="nps", score=score, comment=comment,
        answered_at=now - timedelta(minutes=i), received_at=now,
        source=Source(tool="api", response_id=rid),
        # Four answers per respondent, all inside one cool-down of each other.
        respondent=Respondent(key=f"c-{i % RESPONDENTS}", email=f"c-{i}@example.com"),
        owners=Owners(director="director@kill.example", salesperson="sales@kill.example"),
    )  # fmt: skip


def stream_of(tenant: str, rng: random.Random, now: datetime) -> list[SurveyResponse]:
    firsts = [make_answer(tenant, i, 1, now) for i in range(ANSWERS)]
    stream: list[SurveyResponse] = list(firsts)
    for i in range(0, ANSWERS, 5):
        # The second version follows its first at a random distance: inside the debounce
        # window or long after the action left.
        first = stream.index(firsts[i])
        stream.insert(min(len(stream), first + rng.randint(1, 300)), make_answer(tenant, i, 2, now))
    # Redeliveries: a retrying tool resends a random earlier record, stale versions included.
    for _ in range(ANSWERS // 10):
        stream.insert(rng.randint(len(stream) // 2, len(stream)), rng.choice(firsts))
    return stream


async def published_actions(bootstrap: str, tenant: str) -> list[Action]:
    """Every record on the actions topic for `tenant`, duplicates included."""
    ends = await end_offsets(bootstrap, [topics.ACTIONS])
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    found: list[Action] = []
    try:
        partitions = [TopicPartition(t, p) for (t, p) in ends]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        remaining = {tp for tp in partitions if ends[(tp.topic, tp.partition)] > 0}
        while remaining:
            batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
            for tp, records in batches.items():
                for record in records:
                    if record.key and record.key.startswith(f"{tenant}:".encode()):
                        found.append(Action.model_validate_json(record.value))
                if await consumer.position(tp) >= ends[(tp.topic, tp.partition)]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()
    return found


async def test_closed_loop_killed_mid_stream_decides_each_answer_and_rule_once(
    stack: Any,
) -> None:
    rng = random.Random(20261201)
    database_url = stack.new_database()
    env = stack.service_env(
        database_url, ANBEFAL_CLOSED_LOOP_DEBOUNCE_S="1.0", ANBEFAL_RELEASE_POLL_S="0.1"
    )
    group = f"{env['ANBEFAL_GROUP_PREFIX']}-closed-loop"
    tenant = f"clkill-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC).replace(microsecond=0)
    stream = stream_of(tenant, rng, now)

    closed_loop = ServiceProcess("closed-loop", env, stack.root / "logs").start()
    await closed_loop.wait_ready()
    publisher = Publisher(stack.kafka.bootstrap, timeout=10, client_id="closed-loop-kill")
    await publisher.start()
    await publisher.wait_ready(30)
    kills = 0
    try:
        chunks = [stream[i : i + 40] for i in range(0, len(stream), 40)]
        kill_at = set(rng.sample(range(3, len(chunks) - 3), KILLS))
        for n, chunk in enumerate(chunks):
            await publisher.send_many(
                topics.RESPONSES, [(a.key, a.to_bytes(), None) for a in chunk]
            )
            if n in kill_at:
                # Into a batch, a release or a relay publish: then no warning at all.
                await asyncio.sleep(rng.uniform(0.05, 1.5))
                closed_loop.kill()
                kills += 1
                closed_loop = ServiceProcess("closed-loop", env, stack.root / "logs").start()
                # Ready again before the stream goes on: the next kill then hits a process
                # that is consuming the backlog, not one still starting.
                await closed_loop.wait_ready()
            await asyncio.sleep(0.01)
        assert kills == KILLS
        await closed_loop.wait_ready()

        async def drained() -> bool:
            if not await caught_up(
                stack.kafka.bootstrap, database_url, "closed_loop", group, [topics.RESPONSES]
            ):
                return False
            conn = await asyncpg.connect(asyncpg_dsn(database_url))
            try:
                pending = await conn.fetchval(
                    "SELECT (SELECT count(*) FROM closed_loop.actions WHERE release_at IS NOT NULL)"
                    " + (SELECT count(*) FROM closed_loop.outbox WHERE published_at IS NULL)"
                )
            finally:
                await conn.close()
            return bool(pending == 0)

        await wait_until(drained, 240, "closed_loop caught up, nothing held, outbox relayed")
    finally:
        await publisher.stop()
        closed_loop.stop()

    # What each answer's latest version calls for under the default rules.
    latest: dict[uuid.UUID, SurveyResponse] = {}
    for a in stream:
        if a.event_id not in latest or a.version > latest[a.event_id].version:
            latest[a.event_id] = a
    defaults = RoutingSettings()
    expected = {
        (a.event_id, act.rule_id): act for a in latest.values() for act in decide(a, defaults, now)
    }

    published = await published_actions(stack.kafka.bootstrap, tenant)
    decisions: dict[tuple[uuid.UUID, int], set[bytes]] = defaultdict(set)
    final: dict[tuple[uuid.UUID, str], Action] = {}
    for action in published:
        # A republished record is the same decision byte for byte (decided_at included).
        decisions[(action.action_id, action.revision)].add(action.to_bytes())
        key = (action.response_event_id, action.rule_id)
        assert action.action_id == action_id(*key)
        if key not in final or action.revision > final[key].revision:
            final[key] = action
    twice = {k: len(v) for k, v in decisions.items() if len(v) > 1}
    assert twice == {}, f"revisions decided twice: {list(twice.items())[:5]}"
    for (aid, revision), _ in decisions.items():
        # Every revision below the last was published too: no decision skipped.
        assert all((aid, r) in decisions for r in range(1, revision))

    live = {k: a for k, a in final.items() if not a.cancelled}
    # Calls: every detractor's latest version in exactly one open call, own or attached.
    in_calls = sorted(
        entry
        for call in live.values()
        if call.rule_id == "detractor-call"
        for entry in [
            (call.response_event_id, call.score, call.comment),
            *((a.response_event_id, a.score, a.comment) for a in call.attached),
        ]
    )
    detractors = sorted((a.event_id, a.score, a.comment) for a in latest.values() if a.score <= 6)
    assert in_calls == detractors
    # Everything else: exactly the actions the latest versions call for, with their content.
    others = {k: a for k, a in live.items() if a.rule_id != "detractor-call"}
    wanted = {k: a for k, a in expected.items() if a.rule_id != "detractor-call"}
    missing, extra = set(wanted) - set(others), set(others) - set(wanted)
    assert not missing, f"{len(missing)} (answer, rule) pairs without an action"
    assert not extra, f"{len(extra)} actions the latest versions do not call for"
    for key, action in others.items():
        assert (action.score, action.comment) == (wanted[key].score, wanted[key].comment)
    # The machinery was exercised: late comments folded or revised, score changes cancelled,
    # answers attached in the cool-down.
    assert any(a.revision > 1 for a in final.values())
    assert any(a.cancelled for a in final.values())
    calls = [a for a in live.values() if a.rule_id == "detractor-call"]
    assert 0 < len(calls) < len(detractors)
