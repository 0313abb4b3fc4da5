"""The consumer loop against real Kafka and PostgreSQL: poison records leave, offsets advance."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition
from prometheus_client import REGISTRY
from sqlalchemy import Column, Integer, String, Table, text
from sqlalchemy.dialects.postgresql import UUID, insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from anbefal.common import topics
from anbefal.common.db import consumer_tables, create_engine, create_sessionmaker, service_metadata
from anbefal.common.errors import PoisonRecordError
from anbefal.common.events import Respondent, Source, SurveyResponse, response_event_id
from anbefal.common.kafka import ConsumerLoop, Handler, HandlerContext, Publisher, Subscriptions
from anbefal.common.kafka.messages import Message
from anbefal.common.partitioner import KeyPartitioner
from anbefal.devstack.testing import (
    asyncpg_dsn,
    caught_up,
    end_offsets,
    statements_run,
    wait_until,
)

pytestmark = pytest.mark.integration

# The loop's own tables for these tests: its offsets, its dead letters and the answers stored.
SCHEMA = "loop_test"
METADATA = service_metadata(SCHEMA)
TABLES = consumer_tables(METADATA)
ANSWERS = Table(
    "answers",
    METADATA,
    Column("event_id", UUID(as_uuid=True), primary_key=True),
    Column("tenant", String(63), nullable=False),
    Column("version", Integer, nullable=False),
)


async def create_tables(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
        await conn.run_sync(METADATA.create_all)


async def store(ctx: HandlerContext[Any], answers: Sequence[SurveyResponse]) -> None:
    """The newest version of each answer, once."""
    newest = {a.event_id: a for a in sorted(answers, key=lambda a: a.version)}
    stmt = insert(ANSWERS).values(
        [
            {"event_id": a.event_id, "tenant": a.tenant, "version": a.version}
            for a in newest.values()
        ]
    )
    await ctx.session.execute(
        stmt.on_conflict_do_update(
            index_elements=["event_id"],
            set_={"version": stmt.excluded.version},
            where=ANSWERS.c.version < stmt.excluded.version,
        )
    )


def answers_to(handler: Handler) -> Subscriptions[Any]:
    return Subscriptions({SurveyResponse: handler})


def response(tenant: str, response_id: str, score: int) -> SurveyResponse:
    now = datetime.now(UTC)
    return SurveyResponse(
        event_id=response_event_id(tenant, "api", response_id),
        version=1,
        tenant=tenant,
        kind="nps",
        score=score,
        answered_at=now,
        received_at=now,
        source=Source(tool="api", response_id=response_id),
        respondent=Respondent(key="c-1"),
    )


async def refusing_poison(ctx: HandlerContext[Any], answers: Sequence[SurveyResponse]) -> None:
    for answer in answers:
        if answer.source.response_id == "poison":
            raise PoisonRecordError("this answer can never be processed")
    await store(ctx, answers)


async def test_poison_records_are_dead_lettered_and_the_rest_is_applied(stack: Any) -> None:
    url = stack.new_database()
    tenant = f"loop-{uuid.uuid4().hex[:8]}"
    group = f"loop-{uuid.uuid4().hex[:8]}"
    publisher = Publisher(stack.kafka.bootstrap, timeout=10, client_id="loop-test")
    await publisher.start()
    await publisher.wait_ready(30)
    engine = create_engine(url)
    await create_tables(engine)
    loop = ConsumerLoop(
        group_id=group,
        subscriptions=answers_to(refusing_poison),
        bootstrap=stack.kafka.bootstrap,
        sessionmaker=create_sessionmaker(engine),
        tables=TABLES,
        publisher=publisher,
    )
    # All on one partition (one key), so the poison sits in the same batch as good records.
    key = f"{tenant}:c-1".encode()
    good = [response(tenant, f"r-{i}", i) for i in range(5)]
    records = [(key, good[0].to_bytes(), None), (key, b"\x00 not json", None)]
    records += [(key, response(tenant, "poison", 3).to_bytes(), None)]
    records += [(key, g.to_bytes(), None) for g in good[1:]]
    await publisher.send_many(topics.RESPONSES, records)
    task = asyncio.create_task(loop.run())
    try:
        await wait_until(
            partial(caught_up, stack.kafka.bootstrap, url, SCHEMA, group, [topics.RESPONSES]),
            60,
            "the loop consumed everything",
        )
    finally:
        loop.stop()
        await asyncio.wait_for(task, 30)
        await engine.dispose()
        await publisher.stop()

    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        stored = await conn.fetchval(
            f"SELECT count(*) FROM {SCHEMA}.answers WHERE tenant = $1", tenant
        )
        # This test's own records only: a new group reads the topic from its start, and the
        # session's earlier tests (the fault suite's) left poison of their own there.
        dead = await conn.fetch(
            "SELECT value, error FROM loop_test.dead_letters WHERE group_id = $1 AND key = $2"
            ' ORDER BY "offset"',
            group,
            key,
        )
    finally:
        await conn.close()
    assert stored == len(good)
    assert len(dead) == 2
    assert dead[0]["value"] == b"\x00 not json"
    assert dead[0]["error"].startswith("undecodable SurveyResponse")
    assert "can never be processed" in dead[1]["error"]

    # The dead-letter topic got both, with the reason in a header.
    consumer = AIOKafkaConsumer(
        topics.dlq(topics.RESPONSES),
        bootstrap_servers=stack.kafka.bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        batch = await consumer.getmany(timeout_ms=5000)
        mine = [
            r
            for rs in batch.values()
            for r in rs
            if dict(r.headers).get("dlq-group") == group.encode()
        ]
    finally:
        await consumer.stop()
    assert [r.value for r in mine][0] == b"\x00 not json"
    assert len(mine) == 2
    assert all("dlq-error" in dict(r.headers) for r in mine)


async def test_a_zombie_whose_offset_moved_on_commits_nothing(stack: Any) -> None:
    """Another member stored a later offset while this one applied a batch (it was paused past
    its session, say): the compare-and-set fails, the batch's effect rolls back, and the loop
    re-seeks to the stored offset instead of counting the records a second time."""
    url = stack.new_database()
    tenant = f"zombie-{uuid.uuid4().hex[:8]}"
    group = f"zombie-{uuid.uuid4().hex[:8]}"
    key = f"{tenant}:c-1".encode()
    answers = [response(tenant, f"r-{i}", 9) for i in range(5)]
    publisher = Publisher(stack.kafka.bootstrap, timeout=10, client_id="zombie-test")
    await publisher.start()
    await publisher.wait_ready(30)
    await publisher.send_many(topics.RESPONSES, [(key, a.to_bytes(), None) for a in answers])
    ends = await end_offsets(stack.kafka.bootstrap, [topics.RESPONSES])
    overtaken_batches = 0

    # The one partition of the answers' key.
    partitions = sorted(p for t, p in ends if t == topics.RESPONSES)
    partition = KeyPartitioner()(key, partitions, partitions)

    async def overtaken(ctx: HandlerContext[Any], answers: Sequence[SurveyResponse]) -> None:
        nonlocal overtaken_batches
        await store(ctx, answers)
        ours = [a for a in answers if a.tenant == tenant]
        if ours and overtaken_batches == 0:
            overtaken_batches += 1
            # "Another member" finished this partition and stored its end offset meanwhile.
            conn = await asyncpg.connect(asyncpg_dsn(url))
            try:
                await conn.execute(
                    f"UPDATE {SCHEMA}.consumer_offsets SET next_offset = $1 "
                    'WHERE group_id = $2 AND topic = $3 AND "partition" = $4',
                    ends[(topics.RESPONSES, partition)],
                    group,
                    topics.RESPONSES,
                    partition,
                )
            finally:
                await conn.close()

    engine = create_engine(url)
    await create_tables(engine)
    loop = ConsumerLoop(
        group_id=group,
        subscriptions=answers_to(overtaken),
        bootstrap=stack.kafka.bootstrap,
        sessionmaker=create_sessionmaker(engine),
        tables=TABLES,
        publisher=publisher,
    )
    task = asyncio.create_task(loop.run())
    try:
        await wait_until(
            partial(caught_up, stack.kafka.bootstrap, url, SCHEMA, group, [topics.RESPONSES]),
            60,
            "offsets at the end",
        )
    finally:
        loop.stop()
        await asyncio.wait_for(task, 30)
        await engine.dispose()
        await publisher.stop()
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        stored = await conn.fetchval(
            f"SELECT count(*) FROM {SCHEMA}.answers WHERE tenant = $1", tenant
        )
    finally:
        await conn.close()
    assert overtaken_batches == 1
    assert stored == 0  # the overtaken batch's effect was rolled back, not applied twice


@dataclass
class _Rig:
    """A database, a tenant, a group and a producer for one consumer-loop test."""

    stack: Any
    url: str
    tenant: str
    group: str
    publisher: Publisher
    engine: AsyncEngine

    async def send(self, answers: Sequence[SurveyResponse]) -> None:
        key = f"{self.tenant}:c-1".encode()  # one key: one partition, in order
        await self.publisher.send_many(
            topics.RESPONSES, [(key, a.to_bytes(), None) for a in answers]
        )

    def answers(self, n: int, first: int = 0) -> list[SurveyResponse]:
        return [response(self.tenant, f"r-{i}", i % 11) for i in range(first, first + n)]

    async def stored(self) -> int:
        conn = await asyncpg.connect(asyncpg_dsn(self.url))
        try:
            return int(
                await conn.fetchval(
                    f"SELECT count(*) FROM {SCHEMA}.answers WHERE tenant = $1", self.tenant
                )
            )
        finally:
            await conn.close()

    async def wait_stored(self, n: int) -> None:
        async def done() -> bool:
            return await self.stored() == n

        await wait_until(done, 60, f"{n} answers stored")

    async def loop_at_the_end(self, handler: Handler, **kwargs: Any) -> ConsumerLoop:
        """A loop whose group's stored offsets start at the end of the topic: it sees only the
        records the test produces after this, not the whole session's history."""
        ends = await end_offsets(self.stack.kafka.bootstrap, [topics.RESPONSES])
        conn = await asyncpg.connect(asyncpg_dsn(self.url))
        try:
            await conn.executemany(
                'INSERT INTO loop_test.consumer_offsets (group_id, topic, "partition", next_offset)'
                " VALUES ($1, $2, $3, $4)",
                [(self.group, topic, partition, end) for (topic, partition), end in ends.items()],
            )
        finally:
            await conn.close()
        return ConsumerLoop(
            group_id=self.group,
            subscriptions=answers_to(handler),
            bootstrap=self.stack.kafka.bootstrap,
            sessionmaker=create_sessionmaker(self.engine),
            tables=TABLES,
            publisher=self.publisher,
            **kwargs,
        )

    def restarts(self, reason: str) -> float:
        value = REGISTRY.get_sample_value(
            "anbefal_consumer_restarts_total", {"group": self.group, "reason": reason}
        )
        return value or 0.0


@contextlib.asynccontextmanager
async def _rig(stack: Any, name: str) -> AsyncIterator[_Rig]:
    url = stack.new_database()
    publisher = Publisher(stack.kafka.bootstrap, timeout=10, client_id=f"{name}-test")
    await publisher.start()
    await publisher.wait_ready(30)
    engine = create_engine(url)
    await create_tables(engine)
    suffix = uuid.uuid4().hex[:8]
    try:
        yield _Rig(stack, url, f"{name}-{suffix}", f"{name}-{suffix}", publisher, engine)
    finally:
        await publisher.stop()
        await engine.dispose()


@contextlib.asynccontextmanager
async def _running(loop: ConsumerLoop) -> AsyncIterator[None]:
    task = asyncio.create_task(loop.run())
    try:
        yield
    finally:
        loop.stop()
        await asyncio.wait_for(task, 30)


async def test_the_watchdog_replaces_a_consumer_that_stopped_fetching(stack: Any) -> None:
    """aiokafka#1154: lag, and a consumer that fetches nothing (here: its partitions paused
    behind the loop's back). The watchdog replaces it; the new one starts from the stored
    offsets, so every answer is stored once."""
    paused = 0
    async with _rig(stack, "stall") as rig:
        loop: ConsumerLoop | None = None

        async def pausing(ctx: HandlerContext[Any], answers: Sequence[SurveyResponse]) -> None:
            nonlocal paused
            await store(ctx, answers)
            consumer = loop._consumer if loop is not None else None
            if not paused and consumer is not None:
                paused += 1
                consumer.pause(*consumer.assignment())

        loop = await rig.loop_at_the_end(handler=pausing, max_records=3, watchdog_s=2)
        await rig.send(rig.answers(10))
        started = time.monotonic()
        async with _running(loop):
            await rig.wait_stored(10)
        took = time.monotonic() - started
        assert paused == 1
        assert rig.restarts("stalled") == 1
        assert rig.restarts("not_in_group") == 0
        assert took < 2 + 10  # the watchdog's limit, a new consumer's join and the rest


async def test_the_watchdog_replaces_a_consumer_that_never_fetched(stack: Any) -> None:
    """A fetcher that never answers after an assignment leaves the partitions' high watermark
    unknown, so the lag reads zero: judged by the lag alone, that consumer looks idle forever.
    Here the first consumer's partitions are paused as they are assigned (before any fetch);
    the watchdog must replace it all the same, and the answers waiting are stored once."""
    paused = 0
    async with _rig(stack, "unfetched") as rig:
        loop = await rig.loop_at_the_end(handler=store, watchdog_s=2)
        load_positions = loop.load_positions

        async def pausing(assigned: Iterable[TopicPartition]) -> None:
            nonlocal paused
            assigned = list(assigned)
            await load_positions(assigned)
            consumer = loop._consumer
            if not paused and consumer is not None and assigned:
                paused += 1
                consumer.pause(*assigned)

        loop.load_positions = pausing  # type: ignore[method-assign]
        await rig.send(rig.answers(10))
        async with _running(loop):
            await rig.wait_stored(10)
        assert paused == 1
        assert rig.restarts("stalled") == 1


async def test_the_watchdog_asks_the_broker_when_a_stuck_consumer_looks_idle(stack: Any) -> None:
    """A fetcher that stops, leaving its high watermarks where they were: by its own figures
    the consumer owes nothing and looks idle. Here, after the first batch, its partitions are
    paused and its high watermarks read as its positions. The watchdog must find the owed
    records at the broker and replace it ("stale"); every answer is stored once."""
    stuck = 0
    async with _rig(stack, "stale") as rig:
        loop: ConsumerLoop | None = None

        async def freezing(ctx: HandlerContext[Any], answers: Sequence[SurveyResponse]) -> None:
            nonlocal stuck
            await store(ctx, answers)
            consumer = loop._consumer if loop is not None else None
            if not stuck and consumer is not None and loop is not None:
                stuck += 1
                consumer.pause(*consumer.assignment())
                positions = loop.positions
                consumer.highwater = positions.get  # type: ignore[method-assign]

        loop = await rig.loop_at_the_end(handler=freezing, max_records=3, watchdog_s=2)
        await rig.send(rig.answers(10))
        async with _running(loop):
            await rig.wait_stored(10)
        assert stuck == 1
        assert rig.restarts("stale") == 1
        assert rig.restarts("stalled") == 0


async def test_the_loop_reports_its_own_view_for_readiness(stack: Any) -> None:
    """What /readyz shows of a consumer beside its lag: every partition of its topic assigned
    and owned (a stored position), no rejoin pending, no batch running once it is idle."""
    async with _rig(stack, "state") as rig:
        loop = await rig.loop_at_the_end(handler=store)
        assert loop.state()["running"] is False
        counts = {spec.name: spec.partitions for spec in topics.ALL_TOPICS}
        partitions = sum(counts[name] for name in loop.topic_names)
        await rig.send(rig.answers(5))
        async with _running(loop):
            await rig.wait_stored(5)

            async def owns_all() -> bool:
                return loop.state()["owned"] == partitions

            await wait_until(owns_all, 30, "every partition owned")
            state = loop.state()
        assert state["running"] is True
        assert state["assigned"] == partitions
        assert state["rejoining"] is False
        assert state["in_batch"] is False
        assert 0 <= state["since_records_s"] < 60
        assert loop.state()["running"] is False


def _keep_out_of_its_group(consumer: AIOKafkaConsumer) -> None:
    """Ask `consumer` to rejoin its group, and fail every JoinGroup attempt it makes."""

    async def never_joins(_subscription: Any) -> bool:
        await asyncio.sleep(0.1)
        return False

    coordinator = consumer._coordinator
    coordinator._do_rejoin_group = never_joins
    coordinator.request_rejoin()


async def test_the_watchdog_replaces_a_consumer_that_cannot_rejoin_its_group(stack: Any) -> None:
    """aiokafka#1154's other face: the coordinator wants a rejoin that never succeeds (here
    every JoinGroup attempt of this consumer fails), and getmany waits for it forever. The
    watchdog replaces the consumer."""
    broken = 0

    async with _rig(stack, "rejoin") as rig:
        loop: ConsumerLoop | None = None

        async def breaking(ctx: HandlerContext[Any], answers: Sequence[SurveyResponse]) -> None:
            nonlocal broken
            await store(ctx, answers)
            consumer = loop._consumer if loop is not None else None
            if not broken and consumer is not None:
                broken += 1
                _keep_out_of_its_group(consumer)

        loop = await rig.loop_at_the_end(handler=breaking, watchdog_s=2)
        async with _running(loop):
            await rig.send(rig.answers(1))
            await rig.wait_stored(1)
            # Sent while the consumer is out of its group: only a new consumer gets them.
            await rig.send(rig.answers(5, first=1))
            await rig.wait_stored(6)
        assert broken == 1
        assert rig.restarts("not_in_group") == 1
        assert rig.restarts("stalled") == 0


async def test_a_consumer_that_will_not_stop_is_left_behind_and_cannot_touch_the_next(
    stack: Any,
) -> None:
    """Replaced while its broker cannot be reached, aiokafka's stop() can wait for minutes and
    swallow the cancellation meant to bound it. Here the first consumer cannot rejoin its
    group, so the watchdog replaces it, and its stop() does not end until the test lets it,
    cancelled or not. The loop must go on to a new consumer all the same; and the old one's
    rebalance callbacks, should its group work finish late, must not touch the new one's
    partitions."""
    release = asyncio.Event()
    old: AIOKafkaConsumer | None = None

    async with _rig(stack, "nostop") as rig:
        loop: ConsumerLoop | None = None

        async def breaking(ctx: HandlerContext[Any], answers: Sequence[SurveyResponse]) -> None:
            nonlocal old
            await store(ctx, answers)
            consumer = loop._consumer if loop is not None else None
            if old is None and consumer is not None:
                old = consumer
                real_stop = consumer.stop

                async def will_not_stop() -> None:
                    while not release.is_set():
                        with contextlib.suppress(asyncio.CancelledError):
                            await release.wait()
                    await real_stop()

                consumer.stop = will_not_stop  # type: ignore[method-assign]
                _keep_out_of_its_group(consumer)

        loop = await rig.loop_at_the_end(handler=breaking, watchdog_s=2, session_timeout_ms=6000)
        counts = {spec.name: spec.partitions for spec in topics.ALL_TOPICS}
        partitions = sum(counts[name] for name in loop.topic_names)
        async with _running(loop):
            try:
                await rig.send(rig.answers(1))
                await rig.wait_stored(1)
                # Sent while the first consumer is out of its group: only a new one gets them.
                await rig.send(rig.answers(5, first=1))
                await rig.wait_stored(6)

                async def owns_all() -> bool:
                    return loop.state()["owned"] == partitions

                await wait_until(owns_all, 30, "every partition owned by the new consumer")
                assert old is not None
                assert loop._consumer is not old
                # The old consumer's group work finishing late: say, a revocation.
                late = old._subscription.listener
                await late.on_partitions_revoked(list(loop.positions))
                assert loop.state()["owned"] == partitions
                await rig.send(rig.answers(3, first=6))
                await rig.wait_stored(9)
            finally:
                release.set()  # else, on a loop that waits for it, the test would hang
        assert rig.restarts("not_in_group") == 1
        abandoned = REGISTRY.get_sample_value(
            "anbefal_consumer_stops_abandoned_total", {"group": rig.group}
        )
        assert abandoned == 1
        assert rig.restarts("stalled") == 0


async def test_a_slow_batch_is_not_mistaken_for_a_stuck_consumer(stack: Any) -> None:
    """Time inside a batch is max_poll_interval's business: batches three times longer than
    the watchdog's limit restart nothing."""

    async def slow(ctx: HandlerContext[Any], answers: Sequence[SurveyResponse]) -> None:
        await asyncio.sleep(3)
        await store(ctx, answers)

    async with _rig(stack, "slowbatch") as rig:
        loop = await rig.loop_at_the_end(handler=slow, max_records=1, watchdog_s=1)
        await rig.send(rig.answers(3))
        async with _running(loop):
            await rig.wait_stored(3)
        assert sum(rig.restarts(r) for r in ("stalled", "not_in_group", "error")) == 0


class SeenPartitions(Subscriptions[Any]):
    """The subscriptions, noting the partitions of each transaction's messages."""

    def __init__(self) -> None:
        super().__init__({SurveyResponse: store})
        self.calls: list[set[tuple[str, int]]] = []

    async def dispatch(self, session: AsyncSession, messages: Sequence[Message]) -> None:
        self.calls.append({(m.topic, m.partition) for m in messages})
        await super().dispatch(session, messages)


async def test_a_polls_partitions_are_applied_in_one_transaction(stack: Any) -> None:
    """A transaction costs more than the records in it: the records a poll brings from several
    partitions are applied together, each partition's offset advanced in the same commit."""
    url = stack.new_database()
    tenant = f"poll-{uuid.uuid4().hex[:8]}"
    group = f"poll-{uuid.uuid4().hex[:8]}"
    publisher = Publisher(stack.kafka.bootstrap, timeout=10, client_id="poll-test")
    await publisher.start()
    await publisher.wait_ready(30)
    engine = create_engine(url)
    await create_tables(engine)
    subscriptions = SeenPartitions()
    loop = ConsumerLoop(
        group_id=group,
        subscriptions=subscriptions,
        bootstrap=stack.kafka.bootstrap,
        sessionmaker=create_sessionmaker(engine),
        tables=TABLES,
        publisher=publisher,
    )
    # One respondent each: their keys spread the answers over the topic's partitions.
    answers = [response(tenant, f"r-{i}", i % 11) for i in range(30)]
    await publisher.send_many(
        topics.RESPONSES,
        [(f"{tenant}:c-{i}".encode(), a.to_bytes(), None) for i, a in enumerate(answers)],
    )
    task = asyncio.create_task(loop.run())
    try:
        await wait_until(
            partial(caught_up, stack.kafka.bootstrap, url, SCHEMA, group, [topics.RESPONSES]),
            60,
            "the loop consumed everything",
        )
    finally:
        loop.stop()
        await asyncio.wait_for(task, 30)
        await engine.dispose()
        await publisher.stop()

    assert max(len(partitions) for partitions in subscriptions.calls) > 1
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        stored = await conn.fetchval(
            f"SELECT count(*) FROM {SCHEMA}.answers WHERE tenant = $1", tenant
        )
    finally:
        await conn.close()
    assert stored == len(answers)


async def test_records_that_come_during_a_batch_are_fetched_meanwhile_and_make_the_next_one(
    stack: Any,
) -> None:
    """While a batch's transaction runs, the loop keeps fetching: every record that came
    meanwhile is in the next batch, so a record waits for the batch in flight at most, not
    also for a fetch that starts only once that batch is done."""
    release = asyncio.Event()
    batches: list[list[str]] = []

    async def held(ctx: HandlerContext[Any], answers: Sequence[SurveyResponse]) -> None:
        batches.append([a.source.response_id for a in answers])
        if len(batches) == 1:
            await release.wait()
        await store(ctx, answers)

    async def handling(n: int) -> bool:
        return len(batches) >= n

    async with _rig(stack, "prefetch") as rig:
        loop = await rig.loop_at_the_end(handler=held)
        async with _running(loop):
            await rig.send(rig.answers(1))
            await wait_until(lambda: handling(1), 30, "the first batch")
            for answer in rig.answers(5, first=1):
                await rig.send([answer])  # one at a time, each acknowledged by the broker

            async def fetched_ahead() -> bool:
                return loop.fetched_ahead == 5

            await wait_until(fetched_ahead, 30, "the five records fetched during the batch")
            release.set()
            await rig.wait_stored(6)
        assert batches == [["r-0"], ["r-1", "r-2", "r-3", "r-4", "r-5"]]


async def test_a_healthy_batch_costs_its_handlers_statements_and_one_for_the_offsets(
    stack: Any,
) -> None:
    """Every statement is a round trip on the record's path: a batch whose handler succeeds
    runs no savepoint (only a failing one is retried record by record), and its offsets move
    in one statement whose SQL is the same however many partitions the batch holds (compiled
    and prepared once)."""
    release = asyncio.Event()
    batches: list[set[str]] = []

    async def held(ctx: HandlerContext[Any], answers: Sequence[SurveyResponse]) -> None:
        batches.append({a.respondent.key for a in answers})
        if len(batches) == 1:
            await release.wait()
        await store(ctx, answers)

    async with _rig(stack, "statements") as rig:
        loop = await rig.loop_at_the_end(handler=held)
        with statements_run(rig.engine) as seen:
            async with _running(loop):
                await rig.send(rig.answers(1))
                await wait_until(lambda: _at_least(batches, 1), 30, "the first batch")
                # Many respondents: their keys spread the next batch over several partitions.
                spread = [
                    response(rig.tenant, f"s-{i}", 9).model_copy(
                        update={"respondent": Respondent(key=f"c-{i}")}
                    )
                    for i in range(2, 22)
                ]
                await rig.publisher.send_many(
                    topics.RESPONSES,
                    [
                        (f"{rig.tenant}:{a.respondent.key}".encode(), a.to_bytes(), None)
                        for a in spread
                    ],
                )
                await wait_until(
                    lambda: _fetched(loop, len(spread)), 30, "the rest fetched during the batch"
                )
                release.set()
                await rig.wait_stored(1 + len(spread))
    assert len(batches) == 2
    assert len(batches[1]) == len(spread)
    assert not [s for s in seen if s.split()[0] in ("SAVEPOINT", "RELEASE", "ROLLBACK")]
    moves = [s for s in seen if s.startswith("UPDATE loop_test.consumer_offsets")]
    assert len(moves) == 2
    assert moves[0] == moves[1]


async def _at_least(items: Sequence[object], n: int) -> bool:
    return len(items) >= n


async def _fetched(loop: ConsumerLoop, n: int) -> bool:
    return loop.fetched_ahead == n
