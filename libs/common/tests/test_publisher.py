"""The publisher's two paths (a send per record, a built batch per partition) put a key on the
same partition, in order, and every record arrives once."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import aiokafka.client
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError, KafkaTimeoutError
from aiokafka.protocol.metadata import MetadataRequest
from aiokafka.structs import TopicPartition

from anbefal.common import topics
from anbefal.common.kafka import BrokerUnavailable, Publisher
from anbefal.common.partitioner import KeyPartitioner
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


async def test_a_ready_publisher_has_the_leaders_of_its_topics_before_the_first_record(
    stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first record to each partition after start-up needs no metadata request and no new
    connection: the publisher asked for both while it connected, so a cold start on a busy
    machine does not cost a request its 1.5 s produce timeout."""
    opened: list[str] = []
    asked: list[str] = []
    create_conn = aiokafka.client.create_conn
    send = aiokafka.client.AIOKafkaClient.send

    async def counting_create_conn(host: str, port: int, **kwargs: Any) -> Any:
        opened.append(f"{host}:{port}")
        return await create_conn(host, port, **kwargs)

    async def counting_send(self: Any, node_id: Any, request: Any, **kwargs: Any) -> Any:
        asked.append(type(request).__name__)
        return await send(self, node_id, request, **kwargs)

    monkeypatch.setattr(aiokafka.client, "create_conn", counting_create_conn)
    monkeypatch.setattr(aiokafka.client.AIOKafkaClient, "send", counting_send)
    topic = topics.SCORES  # consumed by nobody in the suite
    partitions = len(await end_offsets(stack.kafka.bootstrap, [topic]))
    publisher = Publisher(
        stack.kafka.bootstrap, timeout=10, client_id="warm-test", warm=[topic, topics.ACTIONS]
    )
    await publisher.start()
    try:
        await publisher.wait_ready(30)
        opened.clear()
        asked.clear()
        # One record to each partition: keys until every partition had one.
        keys: dict[int, bytes] = {}
        for i in range(1000):
            key = f"warm:{i}".encode()
            keys.setdefault(KeyPartitioner()(key, list(range(partitions)), []), key)
            if len(keys) == partitions:
                break
        for key in keys.values():
            await publisher.send(topic, b"warm", key=key)
    finally:
        await publisher.stop()
    assert opened == []
    assert MetadataRequest.__name__ not in asked


class _Cluster:
    """Three brokers leading a topic's six partitions in turn, known once asked for."""

    def __init__(self) -> None:
        self.known: set[str] = set()

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        return set(range(6)) if topic in self.known else None

    def leader_for_partition(self, tp: TopicPartition) -> int:
        return 1 + tp.partition % 3


class _ColdClient:
    def __init__(self) -> None:
        self.cluster = _Cluster()
        self.tracked: set[str] = set()
        self.connected: set[int] = set()

    def add_topic(self, topic: str) -> asyncio.Future[bool]:
        self.tracked.add(topic)
        return self.force_metadata_update()

    def force_metadata_update(self) -> asyncio.Future[bool]:
        self.cluster.known |= self.tracked
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        done.set_result(True)
        return done

    async def ready(self, node_id: int) -> bool:
        self.connected.add(node_id)
        return True


class _ColdProducer:
    """A producer that knows no topic and has no connection to a leader after start()."""

    def __init__(self) -> None:
        self.client = _ColdClient()

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass


async def test_the_publisher_connects_to_every_leader_of_its_topics_before_it_is_ready(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    producer = _ColdProducer()
    publisher = Publisher(
        "127.0.0.1:9", timeout=1.5, client_id="cold-test", warm=[topics.RESPONSES]
    )
    monkeypatch.setattr(publisher, "_new_producer", lambda: producer)
    await publisher.start()
    try:
        await publisher.wait_ready(5)
        assert producer.client.cluster.known == {topics.RESPONSES}
        assert producer.client.connected == {1, 2, 3}
    finally:
        await publisher.stop()
