"""The Kafka producer every service uses: idempotent (`acks=all`), every send awaited with a
timeout, so a caller learns within a bounded time whether the broker has the record.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, KafkaTimeoutError
from aiokafka.structs import TopicPartition

from anbefal.common import metrics, tracing
from anbefal.common.kafka.connection import KafkaConnection, as_connection
from anbefal.common.logging import get_logger
from anbefal.common.partitioner import KeyPartitioner

log = get_logger(__name__)

TRACE_HEADER = tracing.TRACE_HEADER
Headers = list[tuple[str, bytes]]
OutRecord = tuple[bytes | None, bytes, Headers | None]  # key, value, headers


# From this many records, send_many builds batches itself instead of one `send` per record.
_BATCH_FROM = 8
# The longest wait between attempts to connect a producer, and for a failed one to stop.
_RECONNECT_MAX_S = 1.0
_RETIRE_S = 10.0
# The longest a new producer spends on its topics' metadata and leaders before it is ready.
_WARM_UP_S = 5.0
_PARTITIONER = KeyPartitioner()


class BrokerUnavailable(Exception):
    """The broker did not acknowledge in time (or is unreachable): the record may not be stored."""


class Publisher:
    """An idempotent producer that connects in the background and never blocks a caller long.

    `send` returns only after the broker acknowledged the record, or raises `BrokerUnavailable`
    within `timeout` seconds; a send of many records (the batch path) within `batch_timeout`
    (default: `timeout`). A service can start while the broker is down and answer 503 until
    the connection is made.
    """

    def __init__(
        self,
        bootstrap: KafkaConnection | str,
        *,
        timeout: float,
        client_id: str,
        linger_ms: int = 2,
        batch_timeout: float | None = None,
        warm: Sequence[str] = (),
    ):
        self._connection = as_connection(bootstrap)
        self._bootstrap = self._connection.bootstrap
        self._timeout = timeout
        self._batch_timeout = timeout if batch_timeout is None else batch_timeout
        self._client_id = client_id
        self._linger_ms = linger_ms
        self._warm = tuple(warm)
        self._producer: AIOKafkaProducer | None = None
        self._connector: asyncio.Task[None] | None = None
        self._retiring: set[asyncio.Task[None]] = set()
        self._closing = False

    @property
    def ready(self) -> bool:
        return self._producer is not None

    def _new_producer(self) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            **self._connection.client_kwargs(),
            client_id=self._client_id,
            enable_idempotence=True,  # implies acks="all"
            partitioner=_PARTITIONER,  # the batch path's, so both paths agree
            acks="all",
            linger_ms=self._linger_ms,
            max_batch_size=256 * 1024,
            request_timeout_ms=10_000,
        )

    async def start(self) -> None:
        """Start connecting in the background; returns at once."""
        self._connector = asyncio.create_task(self._connect_forever())

    async def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self.ready:
            if time.monotonic() > deadline:
                raise BrokerUnavailable(f"no broker connection to {self._bootstrap}")
            await asyncio.sleep(0.05)

    async def _connect_forever(self) -> None:
        delay = 0.2
        while not self._closing and self._producer is None:
            producer = self._new_producer()
            try:
                await producer.start()
            except asyncio.CancelledError:
                # Stopped while connecting: close what was opened so far.
                with contextlib.suppress(Exception):
                    await producer.stop()
                raise
            except (KafkaError, OSError) as exc:
                log.warning("kafka producer not connected", error=repr(exc), retry_in=delay)
                with contextlib.suppress(Exception):
                    await producer.stop()
                await asyncio.sleep(delay)
                # A short cap: every second without a producer is a second of 503s after the
                # broker is back.
                delay = min(delay * 2, _RECONNECT_MAX_S)
                continue
            await self._warm_up(producer)
            self._producer = producer
            log.info("kafka producer connected", bootstrap=self._bootstrap)

    async def _warm_up(self, producer: AIOKafkaProducer) -> None:
        """The metadata of the topics to `warm` and a connection to each partition's leader;
        within `_WARM_UP_S`, and a broker that is down does not keep the producer from being
        ready (its partitions' records connect when they come, as without the warm-up)."""
        if not self._warm:
            return
        client = producer.client
        try:
            async with asyncio.timeout(_WARM_UP_S):
                for topic in self._warm:
                    client.add_topic(topic)
                await client.force_metadata_update()
                cluster = client.cluster
                leaders = {
                    cluster.leader_for_partition(TopicPartition(topic, partition))
                    for topic in self._warm
                    for partition in cluster.partitions_for_topic(topic) or ()
                }
                await asyncio.gather(
                    *(client.ready(node) for node in leaders if node is not None and node >= 0)
                )
        except (KafkaError, OSError, TimeoutError) as exc:
            log.warning("kafka producer not warmed up", error=repr(exc))

    def _reset(self, failed: AIOKafkaProducer) -> None:
        """Replace a producer that failed; returns at once.

        aiokafka#1017: after some broker outages an idempotent producer stays broken
        (OutOfOrderSequenceNumber); a fresh one gets a new producer id and recovers. The old one
        is stopped in the background, within a bound: `stop()` waits for its pending batches,
        and awaiting it here would hold the failed request about 10 s past its timeout."""
        if self._producer is not failed:
            return  # another request's failure already replaced it
        self._producer = None
        retiring = asyncio.create_task(self._retire(failed))
        self._retiring.add(retiring)
        retiring.add_done_callback(self._retiring.discard)
        if not self._closing and (self._connector is None or self._connector.done()):
            self._connector = asyncio.create_task(self._connect_forever())

    @staticmethod
    async def _retire(producer: AIOKafkaProducer) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(producer.stop(), _RETIRE_S)

    async def send(
        self, topic: str, value: bytes, *, key: bytes | None, headers: Headers | None = None
    ) -> None:
        await self.send_many(topic, [(key, value, headers)])

    async def send_many(self, topic: str, records: Sequence[OutRecord]) -> None:
        """Send records and wait until the broker acknowledged every one of them."""
        producer = self._producer
        if producer is None:
            metrics.PRODUCE_FAILURES.labels(topic).inc(len(records))
            raise BrokerUnavailable("not connected to the broker")
        started = time.perf_counter()
        many = len(records) >= _BATCH_FROM
        timeout = self._batch_timeout if many else self._timeout
        try:
            async with asyncio.timeout(timeout):
                if many:
                    futures = await self._send_batches(producer, topic, records)
                else:
                    futures = [
                        await producer.send(topic, value=value, key=key, headers=headers)
                        for key, value, headers in records
                    ]
                # shield: a timeout must not cancel aiokafka's own delivery futures.
                await asyncio.gather(*(asyncio.shield(f) for f in futures))
        except TimeoutError as exc:
            metrics.PRODUCE_FAILURES.labels(topic).inc(len(records))
            raise BrokerUnavailable(f"broker did not acknowledge within {timeout}s") from exc
        except KafkaError as exc:
            metrics.PRODUCE_FAILURES.labels(topic).inc(len(records))
            log.warning("produce failed; recreating the producer", error=repr(exc))
            self._reset(producer)
            raise BrokerUnavailable(repr(exc)) from exc
        metrics.PRODUCE_LATENCY.labels(topic).observe(time.perf_counter() - started)

    @staticmethod
    async def _send_batches(
        producer: AIOKafkaProducer, topic: str, records: Sequence[OutRecord]
    ) -> list[asyncio.Future[Any]]:
        """Many records as one batch per partition: about three times cheaper than a `send`
        per record (measured: 8-10k against 25-31k records/s on a loaded 2-core machine).

        Records go to the partition `send` would choose (the default murmur2 partitioner over
        the same partition list), so a key's records stay in order whichever path they take."""
        partitions = list(await producer.partitions_for(topic))
        by_partition: dict[int, list[OutRecord]] = {}
        for record in records:
            partition = _PARTITIONER(record[0], partitions, partitions)
            by_partition.setdefault(partition, []).append(record)
        futures: list[asyncio.Future[Any]] = []
        for partition, chunk in by_partition.items():
            batch = producer.create_batch()
            for key, value, headers in chunk:
                if (
                    batch.append(key=key, value=value, timestamp=None, headers=headers or [])
                    is None
                ):
                    # Full: send it and start the next one (this record was not added).
                    futures.append(await _enqueue(producer, batch, topic, partition))
                    batch = producer.create_batch()
                    if (
                        batch.append(key=key, value=value, timestamp=None, headers=headers or [])
                        is None
                    ):
                        raise KafkaError("a record is larger than a whole batch")
            futures.append(await _enqueue(producer, batch, topic, partition))
        return futures

    async def stop(self) -> None:
        self._closing = True
        if self._connector is not None:
            self._connector.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connector
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
        if self._retiring:
            await asyncio.gather(*self._retiring, return_exceptions=True)


async def _enqueue(
    producer: AIOKafkaProducer, batch: Any, topic: str, partition: int
) -> asyncio.Future[Any]:
    """`send_batch`, waiting as long as the caller's timeout allows for the partition's slot.

    aiokafka sends one batch per partition at a time; a `send_batch` behind others raises
    KafkaTimeoutError when its wait runs out, having queued nothing, so asking again sends
    nothing twice. It also runs out early: each round of its wait subtracts the whole time
    waited so far (aiokafka 0.14, `MessageAccumulator.add_batch`), so under a burst of
    concurrent batches it gave up after a few seconds instead of `request_timeout_ms`. A busy
    partition is not a broken producer: the caller's own timeout (`send_many`) ends the wait."""
    while True:
        try:
            future: asyncio.Future[Any] = await producer.send_batch(
                batch, topic, partition=partition
            )
            return future
        except KafkaTimeoutError:
            await asyncio.sleep(0)  # a cancellation (the caller's timeout) lands here
