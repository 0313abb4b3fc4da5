"""The SQL of the eNPS blocks (see grid.py): live and published counts of one group of people
in one month, published in the consumer's transaction as soon as `grid.publishable` allows."""

from __future__ import annotations

from datetime import date

import orjson
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.arrays import as_columns
from anbefal.scoring.grid import Block, group_of, publishable
from anbefal.scoring.models import EnpsBlock
from anbefal.scoring.nps import Figures

BlockKey = tuple[str, date, str]  # tenant, month, segments (JSON)

# The consumer adds each batch's changes to the blocks; the score event scheduler publishes
# them (`publish_ready`), so a burst of answers is published as one step once it is all in.
_ADD_TO_BLOCKS = text(
    "INSERT INTO scoring.enps_blocks AS b (tenant, month, segments, promoters, passives, "
    "detractors, shown_promoters, shown_passives, shown_detractors, changes, shown_changes) "
    "SELECT t, m, CAST(s AS jsonb), p, pa, d, 0, 0, 0, c, 0 FROM unnest("
    "CAST(:tenant AS text[]), CAST(:month AS date[]), CAST(:segments AS text[]), "
    "CAST(:promoters AS int[]), CAST(:passives AS int[]), CAST(:detractors AS int[]), "
    "CAST(:changes AS bigint[])) AS u(t, m, s, p, pa, d, c) "
    "ON CONFLICT (tenant, month, segments) DO UPDATE SET "
    "promoters = b.promoters + excluded.promoters, passives = b.passives + excluded.passives, "
    "detractors = b.detractors + excluded.detractors, changes = b.changes + excluded.changes "
    "RETURNING tenant, month, CAST(segments AS text), changes"
)


def block_key(tenant: str, month: date, segments: str) -> BlockKey:
    """A block's key with its segments as one JSON text (keys sorted), however it was read."""
    group = orjson.loads(segments)
    return tenant, month, orjson.dumps(dict(sorted(group.items()))).decode()


async def add_to_blocks(
    session: AsyncSession, blocks: dict[BlockKey, list[int]]
) -> dict[BlockKey, int]:
    """Add a batch's changes (per block: promoters, passives, detractors, changes); returns
    each block's count of changes after them. An answer of the batch is in the block's
    published figures once the block's `shown_changes` reaches that count: the publication
    locked the block after this transaction, so it read this batch's counts."""
    if not blocks:
        return {}
    rows = await session.execute(
        _ADD_TO_BLOCKS,
        as_columns(
            ((*key, *counts) for key, counts in sorted(blocks.items())),
            ("tenant", "month", "segments", "promoters", "passives", "detractors", "changes"),
        ),
    )
    return {block_key(t, m, s): int(c) for t, m, s, c in rows}


# A JSONB key cannot live in the ORM's identity map: the blocks are read and written by SQL.
_PENDING = text(
    "SELECT month, CAST(segments AS text), promoters, passives, detractors, shown_promoters, "
    "shown_passives, shown_detractors, changes - shown_changes FROM scoring.enps_blocks "
    "WHERE tenant = :tenant AND changes > shown_changes ORDER BY month, segments FOR UPDATE"
)
_PUBLISH = text(
    "UPDATE scoring.enps_blocks AS b SET shown_promoters = b.promoters, "
    "shown_passives = b.passives, shown_detractors = b.detractors, "
    "shown_changes = b.changes, published_at = clock_timestamp() "
    "FROM unnest(CAST(:month AS date[]), CAST(:segments AS text[])) AS u(m, s) "
    "WHERE b.tenant = :tenant AND b.month = u.m AND b.segments = CAST(u.s AS jsonb)"
)


async def publish_ready(session: AsyncSession, tenant: str, k: int) -> int:
    """Publish every block of the tenant that `grid.publishable` allows; how many it did."""
    pending = await session.execute(_PENDING, {"tenant": tenant})
    ready = [
        (month, segments)
        for month, segments, p, pa, d, sp, spa, sd, since in pending
        if publishable(Figures(p, pa, d), Figures(sp, spa, sd), since, k)
    ]
    if ready:
        await session.execute(
            _PUBLISH, {"tenant": tenant, **as_columns(ready, ("month", "segments"))}
        )
    return len(ready)


async def enps_blocks(
    session: AsyncSession, *, tenant: str, first: date, last: date
) -> list[Block]:
    """The published eNPS blocks of the months from `first` to `last` (first days)."""
    rows = await session.execute(
        select(
            EnpsBlock.month,
            EnpsBlock.segments,
            EnpsBlock.shown_promoters,
            EnpsBlock.shown_passives,
            EnpsBlock.shown_detractors,
            EnpsBlock.published_at,
        ).where(
            EnpsBlock.tenant == tenant,
            EnpsBlock.month >= first,
            EnpsBlock.month <= last,
            EnpsBlock.published_at.is_not(None),
        )
    )
    return [
        Block(month, group_of(segments), Figures(p, pa, d), published_at)
        for month, segments, p, pa, d, published_at in rows
    ]


async def enps_publications(session: AsyncSession, tenant: str) -> int:
    """How many answer changes the tenant's published eNPS blocks include: grows with every
    publication, so it orders the tenant's eNPS events."""
    total = await session.scalar(
        select(func.coalesce(func.sum(EnpsBlock.shown_changes), 0)).where(
            EnpsBlock.tenant == tenant
        )
    )
    return int(total or 0)


async def awaiting_blocks(
    session: AsyncSession, *, tenant: str, first: date, last: date
) -> list[Block]:
    """The blocks of the months from `first` to `last` that hold answers no figure shows yet
    (fewer than k changes since they were last published, or never published). Only their
    month and group: their counts stay inside scoring."""
    rows = await session.execute(
        select(EnpsBlock.month, EnpsBlock.segments).where(
            EnpsBlock.tenant == tenant,
            EnpsBlock.month >= first,
            EnpsBlock.month <= last,
            EnpsBlock.changes > EnpsBlock.shown_changes,
            EnpsBlock.promoters + EnpsBlock.passives + EnpsBlock.detractors > 0,
        )
    )
    return [Block(month, group_of(segments), Figures()) for month, segments in rows]
