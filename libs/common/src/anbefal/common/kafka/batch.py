"""A batch's transaction: the handlers' effect, dead letters and offsets, committed together.

Every statement is a round trip on the path of every record in the batch, so a batch whose
handlers succeed runs them with no savepoint around them. A handler that fails for a reason
that is not transient (transient.py) rolls the transaction back, and the batch runs again with
each record on its own savepoint: the records that still fail are dead-lettered, the rest
applied, in one commit as before. A transient failure rolls back and propagates (the loop
retries the batch).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import ConsumerRecord
from aiokafka.structs import TopicPartition
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from structlog.stdlib import BoundLogger

from anbefal.common import hops
from anbefal.common.errors import PoisonRecordError
from anbefal.common.kafka.dead_letters import DeadLetters
from anbefal.common.kafka.messages import Message, Poison, decode_records
from anbefal.common.kafka.offsets import OffsetStore
from anbefal.common.transient import is_transient

# What the loop runs in a batch's transaction: the subscriptions' dispatch, possibly wrapped.
BatchHandler = Callable[[AsyncSession, Sequence[Message]], Awaitable[None]]
Records = dict[TopicPartition, list[ConsumerRecord[Any, Any]]]
Spans = dict[TopicPartition, tuple[int, int]]  # partition -> (expected offset, end)


class _HandlerFailed(Exception):
    """The handler failed on the batch for a reason that is not transient: a record in it."""


@dataclass(frozen=True)
class BatchTransaction:
    sessionmaker: async_sessionmaker[AsyncSession]
    handler: BatchHandler
    rank: Callable[[str], int]  # the order of a batch's topics (tenant settings first)
    dead_letters: DeadLetters
    offsets: OffsetStore
    max_attempts: int
    log: BoundLogger

    async def apply(
        self, batch: Records, spans: Spans, timing: hops.BatchTimes
    ) -> dict[TopicPartition, int]:
        """One commit: effect + dead letters + offsets' compare-and-set (`Fenced` if another
        member moved them). Returns the dead count of each partition."""
        messages: list[Message] = []
        poison: list[Poison] = []
        # Tenant settings first: a poll's answers then see the settings it brought.
        for tp in sorted(batch, key=lambda tp: self.rank(tp.topic)):
            decoded, undecodable = decode_records(tp.topic, batch[tp])
            messages += decoded
            poison += undecodable
        try:
            await self._transaction(messages, poison, spans, timing, isolate=None)
        except _HandlerFailed:
            await self._transaction(messages, poison, spans, timing, isolate=batch)
        dead: dict[TopicPartition, int] = {}
        for record, _ in poison:
            tp = TopicPartition(record.topic, record.partition)
            dead[tp] = dead.get(tp, 0) + 1
        return dead

    async def _transaction(
        self,
        messages: list[Message],
        poison: list[Poison],
        spans: Spans,
        timing: hops.BatchTimes,
        *,
        isolate: Records | None,
    ) -> None:
        """All messages at once; or, with `isolate` (the batch), each on its own savepoint,
        the ones that fail added to `poison`."""
        async with self.sessionmaker() as session, session.begin():
            if messages and isolate is None:
                try:
                    await self.handler(session, messages)
                except Exception as exc:
                    if is_transient(exc):
                        raise
                    raise _HandlerFailed() from exc
            elif messages and isolate is not None:
                poison.extend(await self._isolate(session, messages, isolate))
            if poison:
                await self.dead_letters.store(session, poison)
            await self.offsets.advance(session, spans)
            timing.applied = time.time()

    async def _isolate(
        self, session: AsyncSession, messages: list[Message], batch: Records
    ) -> list[Poison]:
        """The record(s) at fault: one savepoint per record, bounded tries."""
        by_offset = {(r.topic, r.partition, r.offset): r for rs in batch.values() for r in rs}
        poison: list[Poison] = []
        for message in messages:
            error: BaseException | None = None
            for _ in range(self.max_attempts):
                try:
                    async with session.begin_nested():
                        await self.handler(session, [message])
                    error = None
                    break
                except Exception as exc:
                    if is_transient(exc):
                        raise
                    error = exc
            if error is not None:
                reason = "poison" if isinstance(error, PoisonRecordError) else "handler error"
                self.log.error(
                    "record dead-lettered",
                    reason=reason,
                    error=repr(error),
                    topic=message.topic,
                    partition=message.partition,
                    offset=message.offset,
                )
                record = by_offset[(message.topic, message.partition, message.offset)]
                poison.append((record, f"{reason}: {error!r}"))
        return poison
