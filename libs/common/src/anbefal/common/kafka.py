"""The Kafka producer and the ONE consumer loop every service uses (DESIGN.md §4).

Producer: idempotent (`acks=all`), every send awaited with a timeout, so a caller learns within
a bounded time whether the broker has the record.

Consumer loop: auto-commit off. One batch per partition = one PostgreSQL transaction that applies
the handler's effect, dead-letters poison records and advances the stored offset with a
compare-and-set. On assignment the consumer seeks to the offsets stored in PostgreSQL, so a
kill -9 at any instant neither loses nor double-counts a record.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pydantic
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anbefal.common import metrics, topics, tracing
from anbefal.common.db import ConsumerTables
from anbefal.common.errors import PoisonRecordError, RetryableError
from anbefal.common.events import TOPIC_MODELS, EventModel, decode
from anbefal.common.logging import get_logger
from anbefal.common.partitioner import KeyPartitioner
from anbefal.common.settings import FaultFlags

log = get_logger(__name__)

TRACE_HEADER = tracing.TRACE_HEADER
Headers = list[tuple[str, bytes]]
OutRecord = tuple[bytes | None, bytes, Headers | None]  # key, value, headers


# From this many records, send_many builds batches itself instead of one `send` per record.
_BATCH_FROM = 8
# The longest wait between attempts to connect a producer, and for a failed one to stop.
_RECONNECT_MAX_S = 1.0
_RETIRE_S = 10.0
_PARTITIONER = KeyPartitioner()


class BrokerUnavailable(Exception):
    """The broker did not acknowledge in time (or is unreachable): the record may not be stored."""


class Publisher:
    """An idempotent producer that connects in the background and never blocks a caller long.

    `send` returns only after the broker acknowledged the record, or raises `BrokerUnavailable`
    within `timeout` seconds. A service can start while the broker is down and answer 503 until
    the connection is made.
    """

    def __init__(self, bootstrap: str, *, timeout: float, client_id: str, linger_ms: int = 2):
        self._bootstrap = bootstrap
        self._timeout = timeout
        self._client_id = client_id
        self._linger_ms = linger_ms
        self._producer: AIOKafkaProducer | None = None
        self._connector: asyncio.Task[None] | None = None
        self._retiring: set[asyncio.Task[None]] = set()
        self._closing = False

    @property
    def ready(self) -> bool:
        return self._producer is not None

    def _new_producer(self) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            bootstrap_servers=self._bootstrap,
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
                # broker is back (a 5 s cap kept ingest refusing that long; fault suite F4).
                delay = min(delay * 2, _RECONNECT_MAX_S)
                continue
            self._producer = producer
            log.info("kafka producer connected", bootstrap=self._bootstrap)

    def _reset(self, failed: AIOKafkaProducer) -> None:
        """Replace a producer that failed; returns at once.

        aiokafka#1017: after some broker outages an idempotent producer stays broken
        (OutOfOrderSequenceNumber); a fresh one gets a new producer id and recovers. The old one
        is stopped in the background, within a bound: `stop()` waits for its pending batches,
        and awaiting it here held the failed request for about 10 s past its timeout (F4)."""
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
        try:
            async with asyncio.timeout(self._timeout):
                if len(records) >= _BATCH_FROM:
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
            raise BrokerUnavailable(f"broker did not acknowledge within {self._timeout}s") from exc
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
                    futures.append(await producer.send_batch(batch, topic, partition=partition))
                    batch = producer.create_batch()
                    if (
                        batch.append(key=key, value=value, timestamp=None, headers=headers or [])
                        is None
                    ):
                        raise KafkaError("a record is larger than a whole batch")
            futures.append(await producer.send_batch(batch, topic, partition=partition))
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


@dataclass(frozen=True)
class Message:
    """A decoded record handed to a handler."""

    event: EventModel
    topic: str
    partition: int
    offset: int
    key: bytes | None
    headers: tuple[tuple[str, bytes], ...]

    @property
    def trace_id(self) -> str | None:
        return tracing.trace_id_of(self.headers)


BatchHandler = Callable[[AsyncSession, Sequence[Message]], Awaitable[None]]


def is_retryable(exc: BaseException) -> bool:
    """True for failures of the infrastructure (retry later), False for failures of the record."""
    if isinstance(exc, RetryableError | OSError | TimeoutError | OperationalError | InterfaceError):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        return isinstance(code, str) and is_transient_sqlstate(code)
    return False


# SQLSTATEs that say the server, not the record, is at fault: serialization failure, deadlock,
# admin shutdown, cannot connect now, and whole classes: 08 connection exceptions, 53
# insufficient resources (disk full, out of memory, too many connections), 58 system errors
# (I/O). Read as the record's fault, a full disk would dead-letter every record of the batch.
_TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "57P01", "57P02", "57P03"})
_TRANSIENT_SQLSTATE_CLASSES = ("08", "53", "58")


def is_transient_sqlstate(code: str) -> bool:
    return code in _TRANSIENT_SQLSTATES or code.startswith(_TRANSIENT_SQLSTATE_CLASSES)


class _Fenced(Exception):
    """Another consumer advanced the stored offset first: this instance lost the partition."""


@dataclass
class ConsumerHealth:
    running: bool = False
    # Last committed batch, or last poll with nothing left to do (readiness).
    last_progress: float = field(default_factory=time.monotonic)
    # Last poll that returned records, or found none owed (the watchdog).
    last_fetch: float = field(default_factory=time.monotonic)
    # Last poll that returned records (the watchdog's check against the broker).
    last_records: float = field(default_factory=time.monotonic)
    in_batch: bool = False
    lag: dict[tuple[str, int], int] = field(default_factory=dict)
    # Owned partitions with no fetch response yet (their high watermark unknown).
    unfetched: set[tuple[str, int]] = field(default_factory=set)

    def total_lag(self) -> int:
        return sum(self.lag.values())

    def stalled(self, after_s: float) -> bool:
        return self.total_lag() > 0 and time.monotonic() - self.last_progress > after_s


class ConsumerLoop:
    def __init__(
        self,
        *,
        group_id: str,
        topic_names: Iterable[str],
        bootstrap: str,
        sessionmaker: async_sessionmaker[AsyncSession],
        tables: ConsumerTables,
        handler: BatchHandler,
        publisher: Publisher,
        max_records: int = 500,
        max_attempts: int = 3,
        session_timeout_ms: int = 10_000,
        max_poll_interval_ms: int = 300_000,
        watchdog_s: float = 20.0,
        after_commit: Callable[[], None] | None = None,
        faults: FaultFlags | None = None,
    ) -> None:
        self.group_id = group_id
        self.topic_names = tuple(topic_names)
        self._bootstrap = bootstrap
        self._sessionmaker = sessionmaker
        self._tables = tables
        self._handler = handler
        self._publisher = publisher
        self._max_records = max_records
        self._max_attempts = max_attempts
        self._session_timeout_ms = session_timeout_ms
        self._max_poll_interval_ms = max_poll_interval_ms
        self._watchdog_s = watchdog_s
        self._after_commit = after_commit
        self._faults = faults if faults is not None else FaultFlags()
        self._stopping = asyncio.Event()
        self._consumer: AIOKafkaConsumer | None = None
        # Offsets known to be stored in PostgreSQL for the partitions this instance owns.
        self._positions: dict[TopicPartition, int] = {}
        self.health = ConsumerHealth()
        self._log = log.bind(group=group_id)

    @property
    def tables(self) -> ConsumerTables:
        return self._tables

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        """Consume until `stop()`; the batch in flight is finished first (graceful SIGTERM)."""
        delay = 0.2
        while not self._stopping.is_set():
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self._bootstrap,
                group_id=self.group_id,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                max_poll_interval_ms=self._max_poll_interval_ms,
                session_timeout_ms=self._session_timeout_ms,
                heartbeat_interval_ms=max(500, self._session_timeout_ms // 3),
            )
            consumer.subscribe(self.topic_names, listener=_Listener(self))
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
            self.health.running = True
            self.health.last_fetch = self.health.last_records = time.monotonic()
            self._log.info("consumer started", topics=self.topic_names)
            try:
                stuck = await self._poll_watched(consumer)
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
                self.health.running = False
                self._positions.clear()
                self.health.lag.clear()
                self.health.unfetched.clear()
                # A stuck consumer may not stop cleanly; its member then expires on the broker.
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(self._session_timeout_ms / 1000 + 5):
                        await consumer.stop()
                self._consumer = None
        self._log.info("consumer stopped")

    async def _poll_watched(self, consumer: AIOKafkaConsumer) -> str | None:
        """Poll until stopped, under the watchdog; returns why the watchdog gave up, if it did."""
        poll = asyncio.create_task(self._poll_until_stopped(consumer))
        if self._watchdog_s <= 0:
            await poll
            return None
        watch = asyncio.create_task(self._watch(consumer))
        try:
            await asyncio.wait({poll, watch}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            poll.cancel()  # no-op when done; else between batches, or rolled back with its batch
            watch.cancel()
            await asyncio.wait({poll, watch})
        if not poll.cancelled():
            poll.result()  # stopped, or raises what the loop failed with
            return None
        return watch.result()

    async def _watch(self, consumer: AIOKafkaConsumer) -> str:
        """aiokafka#1154: a consumer can stop fetching, or fail to get back into its group, and
        say nothing. Returns why once the poll loop has gone `watchdog_s` without a fetch while
        records are owed, or without returning at all: aiokafka's getmany waits, ignoring its
        timeout, while a rebalance is in progress, so a consumer that cannot rejoin hangs there.
        Time spent inside a batch does not count: a slow batch is max_poll_interval_ms's
        business, and the offset compare-and-set keeps it from counting twice.

        The loop judges "owed" by aiokafka's own high watermarks, which a stuck fetcher leaves
        stale: such a consumer looks idle forever (seen in the broker blackhole fault: notify
        sat 180 s with lag on every partition and no warning). So when nothing has come for
        `watchdog_s`, the broker is asked for the end offsets; owed records still unseen one
        `watchdog_s` later mean "stale"."""
        health = self.health
        period = self._watchdog_s
        suspect_since: float | None = None
        next_check = time.monotonic() + period
        while True:
            await asyncio.sleep(min(1.0, period / 4))
            now = time.monotonic()
            if health.in_batch:
                continue
            if now - health.last_fetch > period:
                return "not_in_group" if _rejoin_pending(consumer) else "stalled"
            if now - health.last_records <= period:
                suspect_since = None
                continue
            if now < next_check:
                continue
            next_check = now + period
            if not await self._owed_unseen(consumer):
                suspect_since = None
            elif suspect_since is None:
                suspect_since = now
            elif health.last_records < suspect_since:
                return "stale"

    async def _owed_unseen(self, consumer: AIOKafkaConsumer) -> bool:
        """Whether the broker holds records past what this instance has processed in a
        partition it owns, or it owns a partition without a stored position."""
        assigned = consumer.assignment()
        if not assigned:
            return False
        if any(tp not in self._positions for tp in assigned):
            return True
        try:
            async with asyncio.timeout(5):
                ends = await consumer.end_offsets(list(assigned))
        except (KafkaError, OSError, TimeoutError):
            return False  # the broker cannot say; an outage is not this consumer's fault
        return any(end > self._positions.get(tp, end) for tp, end in ends.items())

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _poll_until_stopped(self, consumer: AIOKafkaConsumer) -> None:
        health = self.health
        while not self._stopping.is_set():
            batches = await consumer.getmany(timeout_ms=500, max_records=self._max_records)
            fetched = False
            health.in_batch = True
            try:
                for tp, records in batches.items():
                    if self._stopping.is_set():
                        break
                    if tp in self._positions and records:
                        fetched = True
                        await self._process(consumer, tp, records)
            finally:
                health.in_batch = False
            # No await from here to the end of the iteration: the watchdog sees it whole.
            self._update_lag(consumer)
            # A partition never fetched since its assignment may owe records too: judged by
            # the lag alone, a fetcher that never answers looks like an idle consumer, and
            # the watchdog would never fire for it.
            owed = health.total_lag() > 0 or bool(health.unfetched)
            now = time.monotonic()
            if fetched:
                health.last_records = now
            if fetched or not owed:
                health.last_fetch = now
            if not batches and not owed:
                # Nothing to do counts as progress: an idle consumer is not a stuck one.
                health.last_progress = now

    def _update_lag(self, consumer: AIOKafkaConsumer) -> None:
        self.health.unfetched.clear()
        for tp, position in self._positions.items():
            highwater = consumer.highwater(tp)
            if highwater is None:
                self.health.unfetched.add((tp.topic, tp.partition))
                continue
            lag = max(0, highwater - position)
            self.health.lag[(tp.topic, tp.partition)] = lag
            metrics.CONSUMER_LAG.labels(self.group_id, tp.topic, str(tp.partition)).set(lag)

    async def load_positions(self, assigned: Iterable[TopicPartition]) -> None:
        """Read (or create) the stored offsets of newly assigned partitions and seek to them."""
        assigned = list(assigned)
        if not assigned or self._consumer is None:
            return
        table = self._tables.offsets
        while True:
            try:
                async with self._sessionmaker() as session, session.begin():
                    await session.execute(
                        insert(table)
                        .values(
                            [
                                {
                                    "group_id": self.group_id,
                                    "topic": tp.topic,
                                    "partition": tp.partition,
                                    "next_offset": 0,
                                }
                                for tp in assigned
                            ]
                        )
                        .on_conflict_do_nothing()
                    )
                    rows = await session.execute(
                        select(table.c.topic, table.c.partition, table.c.next_offset).where(
                            table.c.group_id == self.group_id
                        )
                    )
                    stored = {TopicPartition(t, p): o for t, p, o in rows}
                break
            except Exception as exc:
                if not is_retryable(exc):
                    raise
                self._log.warning("cannot load offsets; retrying", error=repr(exc))
                await asyncio.sleep(1.0)
        for tp in assigned:
            self._positions[tp] = stored[tp]
            self._consumer.seek(tp, stored[tp])
        self._log.info(
            "partitions assigned",
            partitions={f"{tp.topic}[{tp.partition}]": stored[tp] for tp in assigned},
        )

    def forget(self, revoked: Iterable[TopicPartition]) -> None:
        for tp in revoked:
            self._positions.pop(tp, None)
            self.health.lag.pop((tp.topic, tp.partition), None)
            self.health.unfetched.discard((tp.topic, tp.partition))

    async def _process(
        self,
        consumer: AIOKafkaConsumer,
        tp: TopicPartition,
        records: list[ConsumerRecord[Any, Any]],
    ) -> None:
        expected = self._positions[tp]
        records = [r for r in records if r.offset >= expected]
        if not records:
            return
        # Every log line about this batch, the handler's included, carries its trace ids.
        with tracing.bind_batch(r.headers for r in records):
            await self._process_bound(consumer, tp, records, expected)

    async def _process_bound(
        self,
        consumer: AIOKafkaConsumer,
        tp: TopicPartition,
        records: list[ConsumerRecord[Any, Any]],
        expected: int,
    ) -> None:
        end = records[-1].offset + 1
        try:
            dead = await self._apply(tp, records, expected, end)
        except _Fenced:
            metrics.BATCH_RETRIES.labels(self.group_id, "fenced").inc()
            self._log.warning(
                "offset moved by another consumer; re-seeking", partition=tp.partition
            )
            await self._reseek_from_store(consumer, tp)
            return
        except Exception as exc:
            if not is_retryable(exc):
                raise
            metrics.BATCH_RETRIES.labels(self.group_id, type(exc).__name__).inc()
            self._log.warning("batch failed; will retry", error=repr(exc), partition=tp.partition)
            consumer.seek(tp, expected)
            await self._sleep(1.0)
            return
        if tp in self._positions:
            self._positions[tp] = end
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
        if self._after_commit is not None:
            self._after_commit()

    async def _reseek_from_store(self, consumer: AIOKafkaConsumer, tp: TopicPartition) -> None:
        table = self._tables.offsets
        async with self._sessionmaker() as session:
            stored = await session.scalar(
                select(table.c.next_offset).where(
                    table.c.group_id == self.group_id,
                    table.c.topic == tp.topic,
                    table.c.partition == tp.partition,
                )
            )
        if stored is not None and tp in self._positions:
            self._positions[tp] = stored
            consumer.seek(tp, stored)

    async def _apply(
        self,
        tp: TopicPartition,
        records: list[ConsumerRecord[Any, Any]],
        expected: int,
        end: int,
    ) -> int:
        """One transaction: effect + dead letters + offset compare-and-set. Returns dead count."""
        await self._fault_delay(tp, records)
        model = TOPIC_MODELS[tp.topic]
        messages: list[Message] = []
        poison: list[tuple[ConsumerRecord[Any, Any], str]] = []
        for record in records:
            try:
                event = decode(model, record.value)
            except pydantic.ValidationError as exc:
                poison.append((record, f"undecodable {model.__name__}: {exc}"))
                continue
            messages.append(
                Message(
                    event=event,
                    topic=record.topic,
                    partition=record.partition,
                    offset=record.offset,
                    key=record.key,
                    headers=tuple(record.headers or ()),
                )
            )
        async with self._sessionmaker() as session, session.begin():
            if messages:
                try:
                    async with session.begin_nested():
                        await self._handler(session, messages)
                except Exception as exc:
                    if is_retryable(exc):
                        raise
                    # Find the record(s) at fault: one savepoint per record, bounded tries.
                    poison.extend(await self._isolate(session, messages, records))
            if poison:
                await self._dead_letter(session, tp, poison)
            table = self._tables.offsets
            result = await session.execute(
                update(table)
                .where(
                    table.c.group_id == self.group_id,
                    table.c.topic == tp.topic,
                    table.c.partition == tp.partition,
                    table.c.next_offset == expected,
                )
                .values(next_offset=end)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise _Fenced()
        return len(poison)

    async def _fault_delay(
        self, tp: TopicPartition, records: list[ConsumerRecord[Any, Any]]
    ) -> None:
        """ANBEFAL_FAULT_HANDLER_DELAY_S (tests/faults only): a batch that takes long, before
        its transaction opens, so the process holds no lock while it waits."""
        delay, match = self._faults.handler_delay_s, self._faults.handler_delay_match.encode()
        if not delay or not any(match in (r.value or b"") for r in records):
            return
        self._log.warning(
            "fault flag: delaying a batch (test only)",
            topic=tp.topic,
            partition=tp.partition,
            first_offset=records[0].offset,
            last_offset=records[-1].offset,
            delay_s=delay,
        )
        await asyncio.sleep(delay)

    async def _isolate(
        self,
        session: AsyncSession,
        messages: list[Message],
        records: list[ConsumerRecord[Any, Any]],
    ) -> list[tuple[ConsumerRecord[Any, Any], str]]:
        by_offset = {r.offset: r for r in records}
        poison: list[tuple[ConsumerRecord[Any, Any], str]] = []
        for message in messages:
            error: BaseException | None = None
            for _ in range(self._max_attempts):
                try:
                    async with session.begin_nested():
                        await self._handler(session, [message])
                    error = None
                    break
                except Exception as exc:
                    if is_retryable(exc):
                        raise
                    error = exc
            if error is not None:
                reason = "poison" if isinstance(error, PoisonRecordError) else "handler error"
                self._log.error(
                    "record dead-lettered",
                    reason=reason,
                    error=repr(error),
                    topic=message.topic,
                    partition=message.partition,
                    offset=message.offset,
                )
                poison.append((by_offset[message.offset], f"{reason}: {error!r}"))
        return poison

    async def _dead_letter(
        self,
        session: AsyncSession,
        tp: TopicPartition,
        poison: list[tuple[ConsumerRecord[Any, Any], str]],
    ) -> None:
        # The DLQ topic gets the record before the transaction commits: if the commit then
        # fails the batch is retried and the DLQ may see the record twice, the table once.
        for record, error in poison:
            headers = [*(record.headers or ()), ("dlq-error", error[:2000].encode())]
            headers += [
                ("dlq-topic", record.topic.encode()),
                ("dlq-partition", str(record.partition).encode()),
                ("dlq-offset", str(record.offset).encode()),
                ("dlq-group", self.group_id.encode()),
            ]
            try:
                await self._publisher.send(
                    topics.dlq(record.topic), record.value or b"", key=record.key, headers=headers
                )
            except Exception as exc:
                raise RetryableError(f"dead-letter topic unavailable: {exc!r}") from exc
        await session.execute(
            insert(self._tables.dead_letters)
            .values(
                [
                    {
                        "group_id": self.group_id,
                        "topic": record.topic,
                        "partition": record.partition,
                        "offset": record.offset,
                        "key": record.key,
                        "value": record.value,
                        "headers": [
                            [k, v.decode(errors="replace")] for k, v in (record.headers or ())
                        ],
                        "error": error,
                    }
                    for record, error in poison
                ]
            )
            .on_conflict_do_nothing()
        )


def _rejoin_pending(consumer: AIOKafkaConsumer) -> bool:
    """Whether the consumer is out of its group and wants back in, through a known coordinator
    (the watchdog's reason label only).

    aiokafka has no public signal for this (aiokafka#1154), so its coordinator's own test is
    read; anything unexpected reads as "not pending"."""
    coordinator = getattr(consumer, "_coordinator", None)
    subscription = getattr(getattr(consumer, "_subscription", None), "subscription", None)
    if coordinator is None or subscription is None or coordinator.coordinator_id is None:
        return False
    try:
        return bool(coordinator.need_rejoin(subscription))
    except Exception:
        return False


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, loop: ConsumerLoop) -> None:
        self._loop = loop

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        self._loop.forget(revoked)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        await self._loop.load_positions(assigned)
