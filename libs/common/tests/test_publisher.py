"""The publisher's two paths (a send per record, a built batch per partition) put a key on the
same partition, in order, and every record arrives once."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError, KafkaTimeoutError
from aiokafka.structs import TopicPartition

from anbefal.common import topics
from anbefal.common.kafka import BrokerUnavailable, Publisher
from anbefal.devstack.testing import end_offsets

pytestmark = pytest.mark.integration


async def test_batched_and_single_sends_agree_on_partitions(stack: Any) -> None:
    topic = topics.SCORES  # consumed by nobody in the suite
    before = await end_offsets(stack.kafka.bootstrap, [topic])
    publisher = Publisher(stack.kafka.bootstrap, timeout=10, client_id="publisher-test")
    await publisher.start()
    await publisher.wait_ready(30)
    keys = [f"tenant:c-{i}".encode() for i in range(300)]
    try:
        # One by one (the per-record path), then all at once (the batch path), then again.
        for key in keys:
            await publisher.send(topic, b"single1", key=key)
        await publisher.send_many(topic, [(key, b"batch-1", None) for key in keys])
        await publisher.send_many(topic, [(key, b"x" * 3000 + b"batch-2", None) for key in keys])
    finally:
        await publisher.stop()

    consumer = AIOKafkaConsumer(bootstrap_servers=stack.kafka.bootstrap, enable_auto_commit=False)
    await consumer.start()
    seen: dict[bytes, list[tuple[int, bytes]]] = {}
    try:
        after = await end_offsets(stack.kafka.bootstrap, [topic])
        parts = [TopicPartition(t, p) for (t, p) in after]
        consumer.assign(parts)
        for tp in parts:
            consumer.seek(tp, before.get((tp.topic, tp.partition), 0))
        remaining = {
            tp
            for tp in parts
            if after[(tp.topic, tp.partition)] > before.get((tp.topic, tp.partition), 0)
        }
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=2000)
            for tp, messages in batch.items():
                for m in messages:
                    assert m.key is not None
                    seen.setdefault(m.key, []).append((tp.partition, m.value[-7:]))
                    if m.offset + 1 >= after[(tp.topic, tp.partition)]:
                        remaining.discard(tp)
    finally:
        with contextlib.suppress(asyncio.CancelledError):
            await consumer.stop()
    ours = {k: v for k, v in seen.items() if k in set(keys)}
    assert len(ours) == len(keys)
    for key, records in ours.items():
        assert [value for _, value in records] == [b"single1", b"batch-1", b"batch-2"], key
        assert len({partition for partition, _ in records}) == 1, key


class _BrokenProducer:
    """A producer whose send fails as after a broker outage, and whose stop takes long (it
    waits for pending batches)."""

    def __init__(self) -> None:
        self.stopping = asyncio.Event()

    async def send(self, *args: Any, **kwargs: Any) -> None:
        raise KafkaError("LeaderNotAvailable")

    async def stop(self) -> None:
        self.stopping.set()
        await asyncio.sleep(60)


async def test_a_failed_producer_is_replaced_without_holding_the_request() -> None:
    # No broker at all: the replacement keeps trying to connect in the background.
    publisher = Publisher("127.0.0.1:9", timeout=1.5, client_id="publisher-reset-test")
    broken = _BrokenProducer()
    publisher._producer = broken  # type: ignore[assignment]
    request = asyncio.create_task(publisher.send(topics.SCORES, b"x", key=b"k"))
    # The request fails at once; before the fix it awaited the old producer's 60 s stop.
    done, _ = await asyncio.wait({request}, timeout=5)
    assert done, "the request waited for the failed producer to stop"
    with pytest.raises(BrokerUnavailable):
        request.result()
    assert broken.stopping.is_set(), "the failed producer is being stopped"
    assert not publisher.ready, "a new producer is connecting, the broken one is gone"
    with pytest.raises(BrokerUnavailable):
        await publisher.send(topics.SCORES, b"y", key=b"k")  # 503 at once, not the old one
    publisher._closing = True
    for task in list(publisher._retiring):
        task.cancel()
    await publisher.stop()


class _BusyProducer:
    """A producer whose partitions each still have a batch in flight: aiokafka's `send_batch`
    gives up waiting for the slot with KafkaTimeoutError (and queues nothing) the first
    `busy` times, then takes the batch. Its `stop` records that it was replaced."""

    def __init__(self, busy: int) -> None:
        self.busy = busy
        self.sent: list[tuple[int, int]] = []  # (partition, records)
        self.stopped = False

    async def partitions_for(self, topic: str) -> set[int]:
        return {0, 1, 2}

    def create_batch(self) -> _Batch:
        return _Batch()

    async def send_batch(self, batch: _Batch, topic: str, *, partition: int) -> Any:
        if self.busy:
            self.busy -= 1
            raise KafkaTimeoutError()
        self.sent.append((partition, batch.records))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    async def stop(self) -> None:
        self.stopped = True


class _Batch:
    def __init__(self) -> None:
        self.records = 0

    def append(self, **record: Any) -> object:
        self.records += 1
        return object()


async def test_a_batch_waits_for_a_busy_partition_within_its_timeout() -> None:
    # aiokafka sends one batch per partition at a time; a send_batch that waited too long for
    # the slot raises KafkaTimeoutError without queueing anything (and counts the wait short:
    # it subtracts the whole elapsed time on every round). That is a busy broker, not a broken
    # producer: the batch is enqueued again within the publisher's own timeout, and the
    # producer is kept.
    publisher = Publisher("127.0.0.1:9", timeout=0.5, batch_timeout=5, client_id="busy-test")
    busy = _BusyProducer(busy=4)
    publisher._producer = busy  # type: ignore[assignment]
    records = [(f"k{i}".encode(), b"v", None) for i in range(60)]
    await publisher.send_many(topics.SCORES, records)
    assert sum(n for _, n in busy.sent) == 60
    assert publisher.ready
    assert not busy.stopped
    publisher._producer = None
    await publisher.stop()
