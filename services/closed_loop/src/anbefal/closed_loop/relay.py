"""The outbox relay: publishes decided actions to `anbefal.actions.v1`, at least once.

Rows are claimed with `FOR UPDATE SKIP LOCKED`, so several copies of the service share the work.
A crash after the broker's ack but before the commit republishes the row; notify's
`UNIQUE(action_id)` makes that harmless.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anbefal.closed_loop import repository
from anbefal.common.kafka import OutRecord, Publisher
from anbefal.common.worker import PollingWorker


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
        self._batch = batch
        self.worker = PollingWorker("outbox-relay", self.publish_once, poll_s=poll_s)

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
