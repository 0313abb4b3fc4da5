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
from anbefal.devstack.testing import statements_run

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
