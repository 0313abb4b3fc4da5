"""The outbox relay: a row leaves the outbox in the step that sent it, in one statement, and
only once the broker acknowledged it; a send that fails (or a crash before the commit) leaves
the rows for the next step; two relays at once never send a row twice."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any, cast

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from anbefal.common.db import create_engine, create_sessionmaker, service_metadata
from anbefal.common.kafka import OutRecord, Publisher
from anbefal.common.outbox import OutboxEvent, OutboxRelay, enqueue, outbox_table
from anbefal.devstack.testing import statements_run, wait_until

pytestmark = pytest.mark.integration

SCHEMA = "outbox_test"
metadata = service_metadata(SCHEMA)
OUTBOX = outbox_table(metadata)
TOPIC = "test.relayed"


class Broker:
    """A publisher's stand-in: keeps what it acknowledged; fails the first `failures` sends;
    each send takes `delay_s`."""

    def __init__(self, failures: int = 0, delay_s: float = 0.0) -> None:
        self.failures = failures
        self.delay_s = delay_s
        self.acked: list[tuple[str, bytes]] = []

    async def send_many(self, topic: str, records: Sequence[OutRecord]) -> None:
        await asyncio.sleep(self.delay_s)
        if self.failures:
            self.failures -= 1
            raise TimeoutError("no acknowledgement in time")
        self.acked += [(topic, value) for _, value, _ in records]


@pytest.fixture
async def engine(stack: Any) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(stack.new_database(), pool_size=4)
    async with engine.begin() as conn:
        await conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
        await conn.run_sync(metadata.create_all)
    try:
        yield engine
    finally:
        await engine.dispose()


def relay(sessions: async_sessionmaker[AsyncSession], broker: Broker) -> OutboxRelay:
    return OutboxRelay(sessions, cast(Publisher, broker), OUTBOX, poll_s=1.0, batch=100)


async def enqueued(sessions: async_sessionmaker[AsyncSession], n: int) -> list[bytes]:
    values = [f"event {i}".encode() for i in range(n)]
    async with sessions() as session, session.begin():
        events = [OutboxEvent(uuid.uuid4(), "acme", b"acme:k", v, "trace") for v in values]
        await enqueue(session, OUTBOX, TOPIC, events)
    return values


async def left(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(OUTBOX)) or 0)


async def test_a_sent_row_leaves_the_outbox_in_the_step_that_sent_it(engine: AsyncEngine) -> None:
    sessions = create_sessionmaker(engine)
    values = await enqueued(sessions, 3)
    broker = Broker()
    with statements_run(engine) as seen:
        assert await relay(sessions, broker).worker.run_once() == 3
    assert broker.acked == [(TOPIC, v) for v in values]  # in the order they were written
    assert await left(sessions) == 0
    # Claimed and removed in one statement (beside the transaction's own BEGIN and COMMIT):
    # a relayed row is written once, when it is enqueued, and never updated.
    work = [s for s in seen if s.split()[0].upper() not in ("BEGIN", "COMMIT", "ROLLBACK")]
    assert len(work) == 1, work
    assert await relay(sessions, broker).worker.run_once() == 0


async def test_a_failed_send_leaves_the_rows_for_the_next_step(engine: AsyncEngine) -> None:
    sessions = create_sessionmaker(engine)
    values = await enqueued(sessions, 3)
    broker = Broker(failures=1)
    worker = relay(sessions, broker).worker
    with pytest.raises(TimeoutError):
        await worker.run_once()
    assert (broker.acked, await left(sessions)) == ([], 3)
    assert await worker.run_once() == 3
    assert broker.acked == [(TOPIC, v) for v in values]
    assert await left(sessions) == 0


async def test_two_relays_at_once_send_each_row_once(engine: AsyncEngine) -> None:
    sessions = create_sessionmaker(engine)
    values = await enqueued(sessions, 150)
    broker = Broker(delay_s=0.2)
    one, two = relay(sessions, broker).worker, relay(sessions, broker).worker
    done = await asyncio.gather(one.run_once(), two.run_once())
    assert sorted(done) == [50, 100]  # the second took what the first had not locked
    assert sorted(v for _, v in broker.acked) == sorted(values)
    assert await left(sessions) == 0


class Counted(OutboxRelay):
    """A relay that remembers how many rows each of its steps sent."""

    steps: list[int]

    async def publish_once(self, session: AsyncSession) -> int:
        done = await super().publish_once(session)
        self.steps.append(done)
        return done


async def test_a_step_short_of_a_full_batch_is_not_followed_by_an_empty_one(
    engine: AsyncEngine,
) -> None:
    """A step that sent fewer rows than its batch sent all there were: the relay sleeps until a
    commit wakes it instead of spending a transaction to find nothing."""
    sessions = create_sessionmaker(engine)
    broker = Broker()
    relay = Counted(sessions, cast(Publisher, broker), OUTBOX, poll_s=3600, batch=100)
    relay.steps = []
    stop = asyncio.Event()
    task = asyncio.create_task(relay.worker.run(stop))

    async def acked(n: int) -> bool:
        return len(broker.acked) >= n

    async def started() -> bool:
        return relay.steps == [0]

    try:
        await wait_until(started, 10, "the relay's first step")
        await enqueued(sessions, 3)  # its commit wakes the relay
        await wait_until(lambda: acked(3), 10, "the first three sent")
        await enqueued(sessions, 2)
        await wait_until(lambda: acked(5), 10, "the next two sent")
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    assert relay.steps == [0, 3, 2]
