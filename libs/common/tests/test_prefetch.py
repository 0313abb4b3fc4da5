"""The consumer loop's fetching ahead, against a consumer that hands out what a test queued:
batches stay within `max_records` and in order, a seek forgets what was fetched from the old
position, and a long batch stops the fetching (so max_poll_interval_ms still finds it out)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from aiokafka.structs import TopicPartition

from anbefal.common.kafka import prefetch
from anbefal.common.kafka.prefetch import Prefetcher

A = TopicPartition("t", 0)
B = TopicPartition("t", 1)


def record(tp: TopicPartition, offset: int) -> ConsumerRecord[Any, Any]:
    return ConsumerRecord(tp.topic, tp.partition, offset, 0, 0, None, b"v", None, 0, 1, [])


class QueuedConsumer:
    """`getmany` returns the next queued fetch, or waits for one."""

    def __init__(self) -> None:
        self.fetches: asyncio.Queue[dict[TopicPartition, list[ConsumerRecord[Any, Any]]]] = (
            asyncio.Queue()
        )
        self.calls = 0

    async def getmany(
        self, timeout_ms: int, max_records: int
    ) -> dict[TopicPartition, list[ConsumerRecord[Any, Any]]]:
        self.calls += 1
        return await self.fetches.get()


def offsets(batch: dict[TopicPartition, list[ConsumerRecord[Any, Any]]]) -> dict[int, list[int]]:
    return {tp.partition: [r.offset for r in records] for tp, records in batch.items()}


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_what_came_in_several_fetches_is_one_batch_up_to_max_records() -> None:
    consumer = QueuedConsumer()
    async with Prefetcher(consumer, max_records=4) as prefetcher:  # type: ignore[arg-type]
        consumer.fetches.put_nowait({A: [record(A, 0), record(A, 1)]})
        consumer.fetches.put_nowait({B: [record(B, 7)]})
        consumer.fetches.put_nowait({A: [record(A, 2), record(A, 3)]})
        await settle()
        assert prefetcher.waiting == 5
        assert offsets(await prefetcher.take()) == {0: [0, 1, 2, 3]}
        assert offsets(await prefetcher.take()) == {1: [7]}
        assert prefetcher.waiting == 0


async def test_a_seek_forgets_what_was_fetched_from_the_old_position() -> None:
    consumer = QueuedConsumer()
    async with Prefetcher(consumer, max_records=100) as prefetcher:  # type: ignore[arg-type]
        consumer.fetches.put_nowait({A: [record(A, 5), record(A, 6)], B: [record(B, 1)]})
        await settle()
        prefetcher.drop([A])  # the batch before was rolled back: A starts again at 3
        consumer.fetches.put_nowait({A: [record(A, 3), record(A, 4)]})
        await settle()
        assert offsets(await prefetcher.take()) == {1: [1], 0: [3, 4]}


async def test_nothing_fetched_waits_for_the_next_fetch_and_a_failed_fetch_is_raised() -> None:
    consumer = QueuedConsumer()
    async with Prefetcher(consumer, max_records=10) as prefetcher:  # type: ignore[arg-type]
        taking = asyncio.create_task(prefetcher.take())
        await settle()
        assert not taking.done()
        consumer.fetches.put_nowait({})  # the consumer's timeout passed with nothing
        assert await taking == {}

    class Failing(QueuedConsumer):
        async def getmany(self, timeout_ms: int, max_records: int) -> Any:
            raise RuntimeError("the fetcher died")

    async with Prefetcher(Failing(), max_records=10) as prefetcher:  # type: ignore[arg-type]
        with pytest.raises(RuntimeError, match="fetcher died"):
            await prefetcher.take()


async def test_a_long_batch_stops_the_fetching_ahead_until_it_is_done(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(prefetch, "AHEAD_S", 0.0)  # every batch is already "long"
    consumer = QueuedConsumer()
    async with Prefetcher(consumer, max_records=10) as prefetcher:  # type: ignore[arg-type]
        consumer.fetches.put_nowait({A: [record(A, 0)]})
        batch = await prefetcher.take()
        consumer.fetches.put_nowait({A: [record(A, 1)]})  # the fetch in flight returns
        with prefetcher.batch():
            await settle()
            calls = consumer.calls
            await settle()
            assert consumer.calls == calls  # no fetch while the long batch runs
        await settle()
        assert consumer.calls == calls + 1
        assert offsets(batch) == {0: [0]}
