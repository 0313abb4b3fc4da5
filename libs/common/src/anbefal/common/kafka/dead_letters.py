"""Dead letters: records a consumer group can never process, kept in its table and on the
topic's dead-letter topic (`<topic>.dlq`) with the reason, for a person to look at and replay.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common import topics
from anbefal.common.errors import RetryableError
from anbefal.common.kafka.messages import Poison
from anbefal.common.kafka.producer import Publisher


class DeadLetters:
    def __init__(self, publisher: Publisher, table: Table, group_id: str) -> None:
        self._publisher = publisher
        self._table = table
        self._group_id = group_id

    async def store(self, session: AsyncSession, poison: Sequence[Poison]) -> None:
        """In the batch's transaction. The dead-letter topic gets each record before the
        transaction commits: if the commit then fails the batch is retried and the topic may
        see the record twice, the table once."""
        for record, error in poison:
            headers = [*(record.headers or ()), ("dlq-error", error[:2000].encode())]
            headers += [
                ("dlq-topic", record.topic.encode()),
                ("dlq-partition", str(record.partition).encode()),
                ("dlq-offset", str(record.offset).encode()),
                ("dlq-group", self._group_id.encode()),
            ]
            try:
                await self._publisher.send(
                    topics.dlq(record.topic), record.value or b"", key=record.key, headers=headers
                )
            except Exception as exc:
                raise RetryableError(f"dead-letter topic unavailable: {exc!r}") from exc
        await session.execute(
            insert(self._table)
            .values(
                [
                    {
                        "group_id": self._group_id,
                        "topic": record.topic,
                        "partition": record.partition,
                        "offset": record.offset,
                        "key": record.key,
                        "value": record.value,
                        "headers": [
                            [k, v.decode(errors="replace")] for k, v in (record.headers or ())
                        ],
                        "error": error,
                    }
                    for record, error in poison
                ]
            )
            .on_conflict_do_nothing()
        )
