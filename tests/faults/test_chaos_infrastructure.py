"""Faults that hit the infrastructure: the broker SIGKILLed and restarted under load, the broker
down for a long spell while senders retry, PostgreSQL stopped in immediate mode under load.
Each runs against a broker or a database of its own, so no other test is disturbed."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import pytest

from anbefal.devstack.chaos import (
    ChaosSystem,
    Generator,
    check,
    own_broker,
    own_postgres,
    scale,
)

pytestmark = [pytest.mark.fault, pytest.mark.integration]

BROKER_DOWN_S = float(os.environ.get("ANBEFAL_CHAOS_BROKER_DOWN_S", scale(8, 60)))


@pytest.fixture(scope="module")
async def broker_system(stack: Any) -> AsyncIterator[ChaosSystem]:
    async with own_broker(stack) as system:
        yield system


async def under_load(
    system: ChaosSystem,
    load: Coroutine[Any, Any, None],
    times: int,
    kill: Callable[[], None],
    start: Callable[[], None],
) -> None:
    """Kill and restart a part `times` times while the load runs; then wait for readiness."""
    task = asyncio.create_task(load)
    for _ in range(times):
        await asyncio.sleep(1.5)
        await asyncio.to_thread(kill)
        await asyncio.sleep(3)
        await asyncio.to_thread(start)
    await task
    await system.wait_ready()


async def test_broker_sigkilled_and_restarted_under_load(broker_system: ChaosSystem) -> None:
    system = broker_system
    broker = system.broker
    assert broker is not None
    # No retries: a request that got 503 was not acknowledged, and need not be stored.
    generator = Generator(system.url("ingest"), f"bkill-{uuid.uuid4().hex[:8]}")
    load = generator.send(generator.ids(0, scale(1500, 30_000)))
    await under_load(system, load, scale(2, 5), broker.kill, broker.restart)
    verdict = await check(system, generator, "broker SIGKILL + restart under load")
    assert verdict.problems == []
    assert verdict.lost == 0
    refused = [o for o in generator.history if o.status == 503]
    assert refused, "the broker was down: some requests must have been refused with 503"


async def test_broker_down_while_the_sender_retries(broker_system: ChaosSystem) -> None:
    system = broker_system
    broker = system.broker
    assert broker is not None
    await system.wait_ready()
    generator = Generator(
        system.url("ingest"), f"bdown-{uuid.uuid4().hex[:8]}", retry=True, retry_for_s=600
    )
    answers = scale(600, 10_000)
    first = generator.ids(0, answers // 3)
    rest = generator.ids(answers // 3, answers - answers // 3)
    await generator.send(first)
    broker.kill()
    load = asyncio.create_task(generator.send(rest))
    await asyncio.sleep(BROKER_DOWN_S)
    assert not load.done(), "answers were acknowledged while the broker was down"
    await asyncio.to_thread(broker.restart)
    await load
    await system.wait_ready()
    verdict = await check(system, generator, f"broker down {BROKER_DOWN_S:.0f}s, sender retries")
    assert verdict.problems == []
    # Every answer was eventually acknowledged, and each is counted once.
    assert verdict.acknowledged == verdict.stored == answers
    assert any(o.attempts > 1 for o in generator.history)


async def test_postgres_immediate_stop_and_start_under_load(stack: Any) -> None:
    async with own_postgres(stack) as system:
        postgres = system.postgres
        assert postgres is not None
        # Ingest needs PostgreSQL to mint a new respondent's data key (contact data leaves for
        # Kafka only sealed with it), so answers with contact data get 503 while it is down.
        # Survey tools retry a 503, as this sender does: every answer gets in once it is back.
        generator = Generator(system.url("ingest"), f"pgstop-{uuid.uuid4().hex[:8]}", retry=True)
        load = generator.send(generator.ids(0, scale(1200, 30_000)))
        await under_load(system, load, scale(1, 3), postgres.immediate_stop, postgres.start)
        verdict = await check(system, generator, "PostgreSQL immediate stop + start")
        assert verdict.problems == []
        assert verdict.lost == 0
        assert verdict.acknowledged == len(generator.attempted)
