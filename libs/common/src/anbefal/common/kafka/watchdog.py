"""A consumer's health (readiness, lag) and the watchdog that replaces a stuck consumer.

aiokafka#1154: a consumer can stop fetching, or fail to get back into its group, and say
nothing. The watchdog notices and the loop replaces the consumer with a fresh one, which starts
from the offsets stored in PostgreSQL, so nothing is lost.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition

from anbefal.common import metrics


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

    def started(self) -> None:
        self.running = True
        self.last_fetch = self.last_records = time.monotonic()

    def stopped(self) -> None:
        self.running = False
        self.lag.clear()
        self.unfetched.clear()

    def forget(self, tp: TopicPartition) -> None:
        self.lag.pop((tp.topic, tp.partition), None)
        self.unfetched.discard((tp.topic, tp.partition))

    def polled(
        self,
        consumer: AIOKafkaConsumer,
        positions: Mapping[TopicPartition, int],
        group_id: str,
        *,
        got_any: bool,
        fetched: bool,
    ) -> None:
        """After a poll: `got_any` if it returned records, `fetched` if some were processed.
        No await in here: the watchdog sees the update whole."""
        self._update_lag(consumer, positions, group_id)
        # A partition never fetched since its assignment may owe records too: judged by the
        # lag alone, a fetcher that never answers looks like an idle consumer, and the
        # watchdog would never fire for it.
        owed = self.total_lag() > 0 or bool(self.unfetched)
        now = time.monotonic()
        if fetched:
            self.last_records = now
        if fetched or not owed:
            self.last_fetch = now
        if not got_any and not owed:
            # Nothing to do counts as progress: an idle consumer is not a stuck one.
            self.last_progress = now

    def _update_lag(
        self,
        consumer: AIOKafkaConsumer,
        positions: Mapping[TopicPartition, int],
        group_id: str,
    ) -> None:
        self.unfetched.clear()
        for tp, position in positions.items():
            highwater = consumer.highwater(tp)
            if highwater is None:
                self.unfetched.add((tp.topic, tp.partition))
                continue
            lag = max(0, highwater - position)
            self.lag[(tp.topic, tp.partition)] = lag
            metrics.CONSUMER_LAG.labels(group_id, tp.topic, str(tp.partition)).set(lag)


class Watchdog:
    """Watches one consumer's poll loop; `guard` returns why it gave up, if it did."""

    def __init__(
        self, health: ConsumerHealth, positions: Mapping[TopicPartition, int], period_s: float
    ) -> None:
        self._health = health
        self._positions = positions
        self._period = period_s

    async def guard(
        self, consumer: AIOKafkaConsumer, poll: Coroutine[Any, Any, None]
    ) -> str | None:
        """Run the poll loop until it returns (stopped) or the watchdog gives up on it; returns
        the reason in the second case, raises what the loop failed with."""
        polling = asyncio.create_task(poll)
        if self._period <= 0:
            await polling
            return None
        watching = asyncio.create_task(self._watch(consumer))
        try:
            await asyncio.wait({polling, watching}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            polling.cancel()  # no-op when done; else between batches, or rolled back with its batch
            watching.cancel()
            await asyncio.wait({polling, watching})
        if not polling.cancelled():
            polling.result()
            return None
        return watching.result()

    async def _watch(self, consumer: AIOKafkaConsumer) -> str:
        """Returns why once the poll loop has gone a period without a fetch while records are
        owed, or without returning at all: aiokafka's getmany waits, ignoring its timeout,
        while a rebalance is in progress, so a consumer that cannot rejoin hangs there. Time
        spent inside a batch does not count: a slow batch is max_poll_interval_ms's business,
        and the offset compare-and-set keeps it from counting twice.

        The loop judges "owed" by aiokafka's own high watermarks, which a stuck fetcher leaves
        stale: such a consumer looks idle forever. So when nothing has come for a period, the
        broker is asked for the end offsets; owed records still unseen one period later mean
        "stale". A client that cannot ask is left alone: that is mostly a broker outage, which a
        new consumer would not get through either, and aiokafka's `stop()` during one can wait
        for minutes (`ConsumerLoop._close` leaves such a stop behind)."""
        health = self._health
        period = self._period
        suspect_since: float | None = None
        next_check = time.monotonic() + period
        while True:
            await asyncio.sleep(min(1.0, period / 4))
            now = time.monotonic()
            if health.in_batch:
                continue
            if now - health.last_fetch > period:
                return "not_in_group" if rejoin_pending(consumer) else "stalled"
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


def rejoin_pending(consumer: AIOKafkaConsumer) -> bool:
    """Whether the consumer is out of its group and wants back in, through a known coordinator
    (the watchdog's reason label and /readyz only).

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
