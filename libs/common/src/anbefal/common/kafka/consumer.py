"""The one consumer loop every service uses.

Auto-commit is off. Each poll's records, of every partition it brought, are one PostgreSQL
transaction that applies the handler's effect, dead-letters the records that can never be
processed and advances each partition's stored offset with a compare-and-set (offsets.py). A
transaction costs more than the records in it, so one per poll (not one per partition) is what
keeps a quiet consumer's latency and a busy one's throughput. The path of a record:

    run -> _poll (Prefetcher.take: what was fetched while the last batch ran; prefetch.py)
        -> _process (the poll's batch)
        -> BatchTransaction.apply (decode; one transaction: handlers, dead letters, offsets;
           batch.py)
        -> Subscriptions.dispatch (each handler gets the batch's events of its type)

A transient failure (transient.py) rolls the whole batch back and retries it; any other failure
of the handler is pinned on the record(s) at fault, found with one savepoint per record.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anbefal.common import hops, metrics, tracing
from anbefal.common.db import ConsumerTables
from anbefal.common.kafka.batch import BatchHandler, BatchTransaction
from anbefal.common.kafka.connection import KafkaConnection, as_connection
from anbefal.common.kafka.dead_letters import DeadLetters
from anbefal.common.kafka.offsets import Fenced, OffsetStore
from anbefal.common.kafka.prefetch import Prefetcher
from anbefal.common.kafka.producer import Publisher
from anbefal.common.kafka.subscriptions import Subscriptions
from anbefal.common.kafka.watchdog import ConsumerHealth, Watchdog, rejoin_pending
from anbefal.common.logging import get_logger
from anbefal.common.transient import is_transient

log = get_logger(__name__)


HandlerWrapper = Callable[[BatchHandler], BatchHandler]

_handler_wrappers: list[HandlerWrapper] = []


def wrap_handlers(wrapper: HandlerWrapper) -> None:
    """Every consumer loop created after this call runs its handler through `wrapper`.

    For test entry points that inject faults into a service process (anbefal.devstack); a
    service never calls it."""
    _handler_wrappers.append(wrapper)


class ConsumerLoop:
    def __init__(
        self,
        *,
        group_id: str,
        subscriptions: Subscriptions[Any],
        bootstrap: KafkaConnection | str,
        sessionmaker: async_sessionmaker[AsyncSession],
        tables: ConsumerTables,
        publisher: Publisher,
        max_records: int = 500,
        max_attempts: int = 3,
        session_timeout_ms: int = 10_000,
        max_poll_interval_ms: int = 300_000,
        watchdog_s: float = 20.0,
    ) -> None:
        self.group_id = group_id
        self.topic_names = subscriptions.topics
        self._subscriptions = subscriptions
        self._connection = as_connection(bootstrap)
        self._sessionmaker = sessionmaker
        self._tables = tables
        handler: BatchHandler = subscriptions.dispatch
        for wrap in _handler_wrappers:
            handler = wrap(handler)
        self._max_records = max_records
        self._session_timeout_ms = session_timeout_ms
        self._max_poll_interval_ms = max_poll_interval_ms
        self._stopping = asyncio.Event()
        self._consumer: AIOKafkaConsumer | None = None
        # Stops that did not end in time (`_close`), kept referenced until they do.
        self._abandoned: set[asyncio.Future[None]] = set()
        self._prefetcher: Prefetcher | None = None
        self._offsets = OffsetStore(sessionmaker, tables.offsets, group_id)
        self._batches = BatchTransaction(
            sessionmaker=sessionmaker,
            handler=handler,
            rank=subscriptions.rank,
            dead_letters=DeadLetters(publisher, tables.dead_letters, group_id),
            offsets=self._offsets,
            max_attempts=max_attempts,
            log=log.bind(group=group_id),
        )
        self.health = ConsumerHealth()
        self._watchdog = Watchdog(self.health, self._offsets.positions, watchdog_s)
        self._watchdog_s = watchdog_s
        self._log = log.bind(group=group_id)

    @property
    def tables(self) -> ConsumerTables:
        return self._tables

    @property
    def positions(self) -> Mapping[TopicPartition, int]:
        """The stored offset of each partition this instance owns: where its next batch starts."""
        return self._offsets.positions

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        """Consume until `stop()`; the batch in flight is finished first (graceful SIGTERM)."""
        delay = 0.2
        while not self._stopping.is_set():
            consumer = self._new_consumer()
            # Set before start(): the group join may call the rebalance listener during it.
            self._consumer = consumer
            try:
                await consumer.start()
            except (KafkaError, OSError) as exc:
                self._log.warning("kafka consumer not connected", error=repr(exc), retry_in=delay)
                with contextlib.suppress(Exception):
                    await consumer.stop()
                self._consumer = None
                await self._sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            self.health.started()
            self._log.info("consumer started", topics=self.topic_names)
            try:
                stuck = await self._watchdog.guard(consumer, self._poll(consumer))
                if stuck is not None:
                    # Nothing is lost: the next consumer starts from the offsets in PostgreSQL.
                    metrics.CONSUMER_RESTARTS.labels(self.group_id, stuck).inc()
                    self._log.warning(
                        "consumer stuck; replacing it", reason=stuck, after_s=self._watchdog_s
                    )
            except Exception as exc:
                # Nothing was committed for the failed batch: start over from the stored
                # offsets with a fresh consumer rather than leave the service deaf.
                metrics.CONSUMER_RESTARTS.labels(self.group_id, "error").inc()
                self._log.exception("consumer loop failed; restarting", error=repr(exc))
                await self._sleep(delay)
                delay = min(delay * 2, 5.0)
            finally:
                self.health.stopped()
                self._offsets.positions.clear()
                await self._close(consumer)
                self._consumer = None
        self._log.info("consumer stopped")

    async def _close(self, consumer: AIOKafkaConsumer) -> None:
        """Stop `consumer`, waiting at most a session timeout and a little more.

        A stuck consumer may not stop cleanly; its member then expires on the broker. The
        bound cannot be a cancellation: stopped while its broker is unreachable, aiokafka's
        coordinator can swallow the cancellation and go on waiting for minutes (seen at full
        scale in test_broker_network_faults: the service had no consumer all that time). So the
        stop runs as its own task, and one that is not done in time is left to finish on its
        own. Its rebalance callbacks no longer reach this loop (`_Listener`)."""
        stopping = asyncio.ensure_future(consumer.stop())
        stopping.add_done_callback(_swallow_outcome)
        bound_s = self._session_timeout_ms / 1000 + 5
        await asyncio.wait({stopping}, timeout=bound_s)
        if not stopping.done():
            self._abandoned.add(stopping)
            stopping.add_done_callback(self._abandoned.discard)
            metrics.CONSUMER_STOPS_ABANDONED.labels(self.group_id).inc()
            self._log.warning(
                "consumer did not stop in time; left to finish on its own", after_s=bound_s
            )

    def _new_consumer(self) -> AIOKafkaConsumer:
        consumer = AIOKafkaConsumer(
            **self._connection.client_kwargs(),
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_interval_ms=self._max_poll_interval_ms,
            session_timeout_ms=self._session_timeout_ms,
            heartbeat_interval_ms=max(500, self._session_timeout_ms // 3),
        )
        consumer.subscribe(self.topic_names, listener=_Listener(self, consumer))
        return consumer

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    def state(self) -> dict[str, Any]:
        """The consumer's own view of itself (for /readyz): what an operator asks first when
        its lag does not fall."""
        consumer = self._consumer
        health = self.health
        now = time.monotonic()
        return {
            "running": health.running,
            "assigned": len(consumer.assignment()) if consumer is not None else 0,
            "owned": len(self._offsets.positions),
            "rejoining": consumer is not None and rejoin_pending(consumer),
            "in_batch": health.in_batch,
            "since_fetch_s": round(now - health.last_fetch, 1),
            "since_records_s": round(now - health.last_records, 1),
        }

    @property
    def fetched_ahead(self) -> int:
        """Records fetched while a batch ran, waiting for the next one."""
        return self._prefetcher.waiting if self._prefetcher is not None else 0

    async def _poll(self, consumer: AIOKafkaConsumer) -> None:
        positions = self._offsets.positions
        async with Prefetcher(consumer, self._max_records) as prefetcher:
            self._prefetcher = prefetcher
            try:
                while not self._stopping.is_set():
                    asked = time.time()
                    batches = await prefetcher.take()
                    timing = hops.BatchTimes(asked, time.time())
                    fetched = False
                    self.health.in_batch = True
                    try:
                        batch = {tp: rs for tp, rs in batches.items() if tp in positions}
                        if batch and not self._stopping.is_set():
                            fetched = True
                            with prefetcher.batch():
                                await self._process(consumer, batch, timing)
                    finally:
                        self.health.in_batch = False
                    self.health.polled(
                        consumer, positions, self.group_id, got_any=bool(batches), fetched=fetched
                    )
            finally:
                self._prefetcher = None

    def _seek(self, consumer: AIOKafkaConsumer, tp: TopicPartition, offset: int) -> None:
        """Seek, and forget what was fetched ahead from the old position."""
        consumer.seek(tp, offset)
        if self._prefetcher is not None:
            self._prefetcher.drop([tp])

    async def load_positions(self, assigned: Iterable[TopicPartition]) -> None:
        """Read (or create) the stored offsets of newly assigned partitions and seek to them."""
        if self._consumer is None:
            return
        claimed = await self._offsets.claim(assigned)
        if not claimed:
            # Right when a group has more members than partitions; otherwise the first thing
            # to know about a consumer that is behind and quiet.
            self._log.info("no partitions assigned")
            return
        for tp, offset in claimed.items():
            self._seek(self._consumer, tp, offset)
        self._log.info(
            "partitions assigned",
            partitions={f"{tp.topic}[{tp.partition}]": o for tp, o in claimed.items()},
        )

    def forget(self, revoked: Iterable[TopicPartition]) -> None:
        revoked = list(revoked)
        if revoked:
            self._log.info(
                "partitions revoked",
                partitions=sorted(f"{tp.topic}[{tp.partition}]" for tp in revoked),
            )
        for tp in revoked:
            self._offsets.release([tp])
            self.health.forget(tp)
        if self._prefetcher is not None:
            self._prefetcher.drop(revoked)

    async def _process(
        self,
        consumer: AIOKafkaConsumer,
        fetched: dict[TopicPartition, list[ConsumerRecord[Any, Any]]],
        timing: hops.BatchTimes,
    ) -> None:
        batch: dict[TopicPartition, list[ConsumerRecord[Any, Any]]] = {}
        spans: dict[TopicPartition, tuple[int, int]] = {}  # partition -> (expected, end)
        for tp, records in fetched.items():
            expected = self._offsets.positions[tp]
            records = [r for r in records if r.offset >= expected]
            if records:
                batch[tp] = records
                spans[tp] = (expected, records[-1].offset + 1)
        if not batch:
            return
        # Every log line about this batch, the handler's included, carries its trace ids.
        with tracing.bind_batch(r.headers for records in batch.values() for r in records):
            try:
                dead = await self._batches.apply(batch, spans, timing)
            except Fenced:
                metrics.BATCH_RETRIES.labels(self.group_id, "fenced").inc()
                self._log.warning("offset moved by another consumer; re-seeking")
                for tp in spans:
                    stored = await self._offsets.reload(tp)
                    if stored is not None:
                        self._seek(consumer, tp, stored)
                return
            except Exception as exc:
                if not is_transient(exc):
                    raise
                metrics.BATCH_RETRIES.labels(self.group_id, type(exc).__name__).inc()
                self._log.warning("batch failed; will retry", error=repr(exc))
                for tp, (expected, _) in spans.items():
                    self._seek(consumer, tp, expected)
                await self._sleep(1.0)
                return
            timing.committed = time.time()
            for tp, records in batch.items():
                self._committed(tp, records, spans[tp][1], dead.get(tp, 0))
                hops.observe_consumed(
                    hops.consumed(tp.topic, self.group_id),
                    hops.record_times(r.timestamp for r in records),
                    timing,
                )

    def _committed(
        self, tp: TopicPartition, records: list[ConsumerRecord[Any, Any]], end: int, dead: int
    ) -> None:
        positions = self._offsets.positions
        if tp in positions:
            positions[tp] = end
        else:
            # Revoked while the batch ran (max_poll_interval_ms exceeded, say); the
            # compare-and-set proved that nobody had moved the offset meanwhile.
            self._log.warning(
                "batch committed after its partition was revoked",
                topic=tp.topic,
                partition=tp.partition,
                first_offset=records[0].offset,
                next_offset=end,
            )
        self.health.last_progress = time.monotonic()
        metrics.RECORDS_PROCESSED.labels(self.group_id, tp.topic).inc(len(records))
        # One line per committed batch; it carries the batch's trace ids (see tracing.py).
        self._log.info(
            "batch committed",
            topic=tp.topic,
            partition=tp.partition,
            records=len(records),
            dead=dead,
            first_offset=records[0].offset,
            next_offset=end,
        )
        if dead:
            metrics.DEAD_LETTERS.labels(self.group_id, tp.topic).inc(dead)


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    """One consumer's rebalance callbacks. Only the loop's current consumer may move its
    positions: one left stopping (`ConsumerLoop._close`) can finish a group join late."""

    def __init__(self, loop: ConsumerLoop, consumer: AIOKafkaConsumer) -> None:
        self._loop = loop
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        if self._loop._consumer is self._consumer:
            self._loop.forget(revoked)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        if self._loop._consumer is self._consumer:
            await self._loop.load_positions(assigned)


def _swallow_outcome(stopping: asyncio.Future[None]) -> None:
    # A failed stop changes nothing for the loop (its member expires on the broker); reading
    # the outcome keeps asyncio from reporting it as never retrieved.
    if not stopping.cancelled():
        stopping.exception()
