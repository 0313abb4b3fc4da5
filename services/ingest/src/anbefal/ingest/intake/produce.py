"""Single answers in flight go to the broker together.

A record sent on its own costs the producer a future, a timeout and a trip through its
accumulator, and the broker a request of its own; a batch of records costs each of them a
fraction of that (`Publisher.send_many` builds one batch per partition from 8 records on). The
single answers that arrive while a send is waiting for its acknowledgement share the next send
(`coalesce.py`); each still learns within the single-answer timeout whether the broker has it.
A request that is a batch already is sent as it is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from anbefal.common.kafka import BrokerUnavailable, OutRecord, Publisher
from anbefal.ingest.intake.coalesce import Coalescer

# From this many records a request is a batch of its own.
_OWN_BATCH = 8


class Sends(Protocol):
    async def send_many(self, topic: str, records: Sequence[OutRecord]) -> None:
        """Return once the broker acknowledged every record; raise BrokerUnavailable if not."""


class SharedPublisher:
    def __init__(self, publisher: Publisher, timeout_s: float) -> None:
        self._publisher = publisher
        self._timeout_s = timeout_s
        self._topics: dict[str, Coalescer[OutRecord, None]] = {}

    async def send_many(self, topic: str, records: Sequence[OutRecord]) -> None:
        if len(records) >= _OWN_BATCH:
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
            raise BrokerUnavailable(
                f"broker did not acknowledge within {self._timeout_s}s"
            ) from exc

    async def _send(self, topic: str, records: list[OutRecord]) -> list[None]:
        # Shared singles keep the single answer's timeout (send_many would give 8 or more the
        # batch's): a send the broker does not confirm must not hold back the next one.
        async with asyncio.timeout(self._timeout_s):
            await self._publisher.send_many(topic, records)
        return [None] * len(records)
