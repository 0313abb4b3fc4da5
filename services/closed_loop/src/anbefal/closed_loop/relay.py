"""The outbox relay: publishes decided actions to `anbefal.actions.v1`, at least once.

Rows are claimed with `FOR UPDATE SKIP LOCKED`, so several copies of the service share the work.
A crash after the broker's ack but before the commit republishes the row; notify's
`UNIQUE(action_id)` makes that harmless.
"""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anbefal.closed_loop import repository
from anbefal.common.kafka import BrokerUnavailable, OutRecord, Publisher
from anbefal.common.logging import get_logger

log = get_logger(__name__)


class OutboxRelay:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        publisher: Publisher,
        *,
        poll_s: float,
        batch: int,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._publisher = publisher
        self._poll_s = poll_s
        self._batch = batch
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Called after the consumer commits new actions: publish now rather than at next poll."""
        self._wake.set()

    async def publish_once(self) -> int:
        async with self._sessionmaker() as session, session.begin():
            rows = await repository.claim_unpublished(session, self._batch)
            if not rows:
                return 0
            by_topic: dict[str, list[OutRecord]] = {}
            for row in rows:
                headers = [(k, v.encode()) for k, v in row.headers]
                by_topic.setdefault(row.topic, []).append((row.key, row.payload, headers))
            for topic, records in by_topic.items():
                await self._publisher.send_many(topic, records)
            await repository.mark_published(session, [r.id for r in rows])
            return len(rows)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                published = await self.publish_once()
            except BrokerUnavailable as exc:
                log.warning("outbox relay: broker unavailable", error=str(exc))
                published = 0
            except Exception as exc:
                log.error("outbox relay failed; retrying", error=repr(exc))
                published = 0
            if published:
                continue  # drain the backlog before sleeping
            self._wake.clear()
            waiters = {asyncio.create_task(self._wake.wait()), asyncio.create_task(stop.wait())}
            await asyncio.wait(waiters, timeout=self._poll_s, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()
