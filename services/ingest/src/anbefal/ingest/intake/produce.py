"""Batches of answers in flight go to the broker together.

aiokafka keeps one produce request in flight per broker and one batch per partition waiting
behind it, and a batch request's answers are one batch per partition: so concurrent batch
requests went to the broker one after the other, each its own round trip. In the deadline-day
burst (`bench/burst.py`, four senders of 500 answers) waiting for the broker's ack was two
thirds of a request's time (244 of 360 ms on average). Here the batches that arrive while a
send waits for its ack share the next send (`coalesce.py`), so a round trip carries every
batch that came meanwhile.

Only batches share: a batch of answers already waits for every partition it touches, which is
each of them from a few dozen answers on. Single answers (a webhook's, or one posted alone) are
sent on their own, so that while one partition's leader is being elected the answers bound for
the others still get their 202 (and their shorter timeout).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from anbefal.common.kafka import BATCH_FROM, BrokerUnavailable, OutRecord, Publisher
from anbefal.ingest.intake.coalesce import Coalescer


class Sends(Protocol):
    async def send_many(self, topic: str, records: Sequence[OutRecord]) -> None:
        """Return once the broker acknowledged every record; raise BrokerUnavailable if not."""


class SharedBatches:
    """`Publisher.send_many`, with the batches in flight sent together. A send of fewer than
    `BATCH_FROM` records (the publisher's single-answer path and timeout) goes alone."""

    def __init__(self, publisher: Publisher, timeout_s: float) -> None:
        self._publisher = publisher
        self._timeout_s = timeout_s
        self._topics: dict[str, Coalescer[OutRecord, None]] = {}

    async def send_many(self, topic: str, records: Sequence[OutRecord]) -> None:
        if len(records) < BATCH_FROM:
            await self._publisher.send_many(topic, records)
            return
        shared = self._topics.get(topic)
        if shared is None:
            shared = self._topics[topic] = Coalescer(
                lambda batch: self._send(topic, batch), timeout_s=self._timeout_s
            )
        try:
            await shared(list(records))
        except TimeoutError as exc:
            # Its wait began when it joined: behind the send in flight, then its own.
            raise BrokerUnavailable(
                f"broker did not acknowledge within {self._timeout_s}s"
            ) from exc

    async def _send(self, topic: str, records: list[OutRecord]) -> list[None]:
        await self._publisher.send_many(topic, records)
        return [None] * len(records)
