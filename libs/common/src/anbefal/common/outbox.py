"""The transactional outbox every producing service uses (docs/architecture.md §4).

A service writes the events it decided into its own `outbox` table in the same transaction as
the state change; `OutboxRelay` publishes them and deletes them, in a transaction that commits
after the broker's ack. A crash after the ack but before that commit republishes a row:
consumers dedupe by the event's own id. Rows are claimed with `FOR UPDATE SKIP LOCKED`, so
several copies of a service share the work.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from functools import partial
from typing import NamedTuple

import orjson
from sqlalchemy import (
    Column,
    DateTime,
    Index,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    cast,
    delete,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anbefal.common import hops
from anbefal.common.arrays import unnest_insert
from anbefal.common.kafka import TRACE_HEADER, OutRecord, Publisher
from anbefal.common.worker import PollingWorker, on_commit, wake_on_commit


def outbox_table(metadata: MetaData) -> Table:
    """The outbox of one service, in that service's schema."""
    return Table(
        "outbox",
        metadata,
        Column("id", UUID, primary_key=True),  # the event's own id: enqueueing twice stores once
        Column("tenant", String(63), nullable=False),
        Column("topic", String(200), nullable=False),
        Column("key", LargeBinary, nullable=False),
        Column("payload", LargeBinary, nullable=False),
        Column("headers", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        # Published rows are deleted; a row marked here stays published (never sent again).
        Column("published_at", DateTime(timezone=True), nullable=True),
        Index("ix_outbox_unpublished", "created_at", postgresql_where=text("published_at IS NULL")),
    )


class OutboxEvent(NamedTuple):
    id: uuid.UUID
    tenant: str
    key: bytes
    payload: bytes
    trace_id: str | None = None


# The columns `enqueue` writes (`created_at` is the transaction's start, its server default).
_ENQUEUED = ("id", "tenant", "topic", "key", "payload", "headers")


async def enqueue(
    session: AsyncSession, table: Table, topic: str, events: Sequence[OutboxEvent]
) -> None:
    """Add events to the outbox in the caller's transaction (an id already there is skipped).
    One constant statement (`anbefal.common.arrays`), whatever the number; its arrays are
    built straight from the events, without a dict per row (a consumer batch enqueues
    thousands)."""
    if not events:
        return
    columns: dict[str, list[object]] = {
        "id": [e.id for e in events],
        "tenant": [e.tenant for e in events],
        "topic": [topic] * len(events),
        "key": [e.key for e in events],
        "payload": [e.payload for e in events],
        "headers": [_headers_json(e.trace_id) for e in events],
    }
    await session.execute(unnest_insert(table, _ENQUEUED, "ON CONFLICT DO NOTHING"), columns)
    # Published as soon as this commits, by this process's relay (another copy's polls).
    wake_on_commit(session, relay_channel(table))


def _headers_json(trace_id: str | None) -> str:
    """The record's headers as the JSON the `headers` column holds: [[name, value], ...]."""
    return orjson.dumps([[TRACE_HEADER, trace_id]] if trace_id else []).decode()


def relay_channel(table: Table) -> str:
    return f"outbox-relay:{table.fullname}"


class OutboxRelay:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        publisher: Publisher,
        table: Table,
        *,
        poll_s: float,
        batch: int = 500,
    ) -> None:
        """`batch`: the most rows a step sends, as many as a consumer's batch (its
        `max_records`) usually writes, so a batch's events leave in one produce and one
        acknowledgement instead of several in a row."""
        self._publisher = publisher
        self._table = table
        self._batch = batch
        channel = relay_channel(table)
        # A step short of `batch` sent all there was: the worker sleeps until woken.
        self.worker = PollingWorker(
            channel, sessionmaker, self.publish_once, poll_s=poll_s, wakes_on=channel, batch=batch
        )

    async def publish_once(self, session: AsyncSession) -> int:
        """Claim the oldest rows and delete them in one statement, send them, and return: the
        worker commits the delete only after the broker's acknowledgement. A send that fails
        rolls it back, and so does a crash before the commit; the rows are then sent again
        (consumers dedupe by the event's id). Locked rows are skipped, so copies share the
        work. A relayed row is written once, not updated to mark it published."""
        t = self._table
        claimed = (
            select(t.c.id)
            .where(t.c.published_at.is_(None))
            .order_by(t.c.created_at)
            .limit(self._batch)
            .with_for_update(skip_locked=True)
        )
        deleted = delete(t).where(t.c.id.in_(claimed.scalar_subquery()))
        # The headers as text, parsed here: the driver's jsonb codec parses with the standard
        # library's json, several times slower per row.
        returned = deleted.returning(
            t.c.topic, t.c.key, t.c.payload, cast(t.c.headers, Text).label("headers"),
            t.c.created_at, literal_column("ctid"),
        )  # fmt: skip
        # RETURNING keeps no order: sorted back into the order they were written, the rows of
        # one transaction (one `created_at`) by their place in the table, as an index scan
        # over `created_at` would give them.
        rows = sorted((await session.execute(returned)).all(), key=lambda r: (r.created_at, r.ctid))
        if not rows:
            return 0
        taken = time.time()
        by_topic: dict[str, list[OutRecord]] = {}
        written: dict[str, list[float]] = {}
        for row in rows:
            headers = [(k, v.encode()) for k, v in orjson.loads(row.headers)]
            by_topic.setdefault(row.topic, []).append((row.key, row.payload, headers))
            written.setdefault(row.topic, []).append(row.created_at.timestamp())
        for topic, records in by_topic.items():
            await self._publisher.send_many(topic, records)
        on_commit(session, partial(self._observe, written, taken, time.time()))
        return len(rows)

    def _observe(self, written: dict[str, list[float]], taken: float, acked: float) -> None:
        now = time.time()
        for topic, created in written.items():
            hops.observe_relayed(
                hops.published(self._table.fullname, topic),
                created,
                taken=taken,
                acked=acked,
                committed=now,
            )
