"""Fetching ahead while the consumer loop applies a batch.

aiokafka sends a partition's next fetch only once the records of its last one were taken, and
a broker answers a fetch as soon as it holds one new record. So while a batch's transaction
runs, one fetch comes back with the first record that arrives meanwhile and nothing more is
fetched until the loop asks again: the records after it missed the next batch and waited for
a whole further transaction (at 50 records/s, most of them did). `Prefetcher` takes what
aiokafka fetched as soon as it is there, so a fetch is always in flight and the next batch
holds everything that came while the last one ran. It holds at most `max_records` records
between batches (then it stops taking, and aiokafka stops fetching).

It fetches ahead during the first `AHEAD_S` of a batch only: aiokafka counts a consumer that
has no fetch going for `max_poll_interval_ms` as stuck and takes it out of its group, and a
batch that runs that long must still be found out (a second late at most).

A seek (a retried batch, a fenced one, an assignment) drops what was fetched ahead for that
partition: records fetched from the old position must never follow the new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable, Iterator
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from aiokafka.structs import TopicPartition

Records = dict[TopicPartition, list[ConsumerRecord[Any, Any]]]

# How long into a batch the next one is still fetched; a batch is rarely longer.
AHEAD_S = 0.5


class Prefetcher:
    def __init__(self, consumer: AIOKafkaConsumer, max_records: int) -> None:
        self._consumer = consumer
        self._max_records = max_records
        self._records: Records = {}
        self._count = 0
        self._polled = asyncio.Event()  # a fetch returned (records or nothing), or failed
        self._room = asyncio.Event()
        self._room.set()
        self._error: BaseException | None = None
        self._task: asyncio.Task[None] | None = None
        self._batch_since: float | None = None
        self._between_batches = asyncio.Event()
        self._between_batches.set()

    @property
    def waiting(self) -> int:
        """Records fetched and not yet taken."""
        return self._count

    async def __aenter__(self) -> Prefetcher:
        self._task = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _read(self) -> None:
        try:
            while True:
                await self._room.wait()
                await self._ahead_allowed()
                # The consumer's own timeout: an idle partition still reports back (the loop's
                # health checks count on it), and a rebalance holds this call as it held the
                # loop's own poll.
                batches = await self._consumer.getmany(
                    timeout_ms=500, max_records=self._max_records
                )
                for tp, records in batches.items():
                    if records:
                        self._records.setdefault(tp, []).extend(records)
                        self._count += len(records)
                if self._count >= self._max_records:
                    self._room.clear()
                self._polled.set()
        except Exception as exc:
            self._error = exc
            self._polled.set()

    async def _ahead_allowed(self) -> None:
        since = self._batch_since
        if since is not None and time.monotonic() - since >= AHEAD_S:
            await self._between_batches.wait()

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Around the loop's work on a batch it took."""
        self._batch_since = time.monotonic()
        self._between_batches.clear()
        try:
            yield
        finally:
            self._batch_since = None
            self._between_batches.set()

    async def take(self) -> Records:
        """What was fetched, up to `max_records` (each partition's records in order); if
        nothing was, waits for the next fetch to return, which may bring nothing."""
        if not self._count and self._error is None:
            self._polled.clear()
            await self._polled.wait()
        if self._error is not None:
            raise self._error
        taken: Records = {}
        room = self._max_records
        for tp in list(self._records):
            if room <= 0:
                break
            records = self._records[tp]
            taken[tp], rest = records[:room], records[room:]
            room -= len(taken[tp])
            if rest:
                self._records[tp] = rest
            else:
                del self._records[tp]
        self._count -= self._max_records - room
        if self._count < self._max_records:
            self._room.set()
        return taken

    def drop(self, partitions: Iterable[TopicPartition]) -> None:
        """Forget what was fetched ahead for `partitions` (sought elsewhere, or revoked)."""
        for tp in partitions:
            self._count -= len(self._records.pop(tp, ()))
        if self._count < self._max_records:
            self._room.set()
