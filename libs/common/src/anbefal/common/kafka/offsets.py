"""The offsets a consumer group stores in PostgreSQL, beside the effects they account for.

A batch's transaction advances each of its partitions' offsets with a compare-and-set from the
offset the batch started at, so a member that lost a partition (paused past its session, say)
cannot commit a batch another member already applied: its transaction fails with `Fenced` and
rolls back. On assignment a consumer seeks to the stored offsets, so a kill -9 at any instant
neither loses nor double-counts a record.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping

from aiokafka.structs import TopicPartition
from sqlalchemy import Table, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anbefal.common.arrays import as_columns
from anbefal.common.logging import get_logger
from anbefal.common.transient import is_transient

log = get_logger(__name__)


class Fenced(Exception):
    """Another consumer advanced the stored offset first: this instance lost the partition."""


class OffsetStore:
    """One group's stored offsets, and the positions of the partitions this instance owns."""

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], table: Table, group_id: str
    ) -> None:
        self._sessionmaker = sessionmaker
        self._table = table
        self._group_id = group_id
        # The stored offset of each partition this instance owns: where its next batch starts.
        self.positions: dict[TopicPartition, int] = {}
        self._advance = text(
            f"UPDATE {table.fullname} AS o SET next_offset = m.next_offset "
            "FROM unnest(CAST(:topics AS text[]), CAST(:partitions AS int4[]), "
            "CAST(:expected AS int8[]), CAST(:ends AS int8[])) "
            "AS m(topic, partition, expected, next_offset) "
            'WHERE o.group_id = :group_id AND o.topic = m.topic AND o."partition" = m.partition '
            "AND o.next_offset = m.expected"
        )

    async def claim(self, assigned: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        """Read (or create at 0) the stored offsets of newly assigned partitions; they become
        this instance's positions. Retries while PostgreSQL is unavailable."""
        assigned = list(assigned)
        if not assigned:
            return {}
        while True:
            try:
                stored = await self._read_or_create(assigned)
                break
            except Exception as exc:
                if not is_transient(exc):
                    raise
                log.warning("cannot load offsets; retrying", group=self._group_id, error=repr(exc))
                await asyncio.sleep(1.0)
        claimed = {tp: stored[tp] for tp in assigned}
        self.positions.update(claimed)
        return claimed

    async def _read_or_create(self, assigned: list[TopicPartition]) -> dict[TopicPartition, int]:
        table = self._table
        async with self._sessionmaker() as session, session.begin():
            await session.execute(
                insert(table)
                .values(
                    [
                        {
                            "group_id": self._group_id,
                            "topic": tp.topic,
                            "partition": tp.partition,
                            "next_offset": 0,
                        }
                        for tp in assigned
                    ]
                )
                .on_conflict_do_nothing()
            )
            rows = await session.execute(
                select(table.c.topic, table.c.partition, table.c.next_offset).where(
                    table.c.group_id == self._group_id
                )
            )
            return {TopicPartition(t, p): o for t, p, o in rows}

    def release(self, revoked: Iterable[TopicPartition]) -> None:
        for tp in revoked:
            self.positions.pop(tp, None)

    async def advance(
        self, session: AsyncSession, spans: Mapping[TopicPartition, tuple[int, int]]
    ) -> None:
        """In the batch's transaction, one statement: move each partition's stored offset from
        `expected` to `end` (`spans[tp] == (expected, end)`), or raise `Fenced` if any of them
        is no longer at its `expected`. The SQL is the same for any number of partitions."""
        moves = as_columns(
            ((tp.topic, tp.partition, e, n) for tp, (e, n) in spans.items()),
            ("topics", "partitions", "expected", "ends"),
        )
        result = await session.execute(self._advance, {"group_id": self._group_id, **moves})
        if result.rowcount != len(spans):  # type: ignore[attr-defined]
            raise Fenced()

    async def reload(self, tp: TopicPartition) -> int | None:
        """After `Fenced`: the offset another member stored, now this instance's position (if it
        still owns the partition; None if not)."""
        table = self._table
        async with self._sessionmaker() as session:
            stored = await session.scalar(
                select(table.c.next_offset).where(
                    table.c.group_id == self._group_id,
                    table.c.topic == tp.topic,
                    table.c.partition == tp.partition,
                )
            )
        if stored is None or tp not in self.positions:
            return None
        self.positions[tp] = stored
        return int(stored)
