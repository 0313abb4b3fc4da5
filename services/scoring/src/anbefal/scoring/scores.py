"""What a reader may see: the scores API, its CSV export, its timeseries and the
`anbefal.scores.v1` events all ask here. NPS figures are sums of daily buckets over any range
(or, filtered by several segment values or a reader's scope, counts of the stored answers);
eNPS figures are cells of the publication grid (grid.py), with its suppression."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.auth import Scope
from anbefal.scoring import answer_figures, blocks, grid, repository
from anbefal.scoring.grid import Cell, CellView
from anbefal.scoring.nps import Figures
from anbefal.scoring.segment_filter import SegmentFilter
from anbefal.scoring.windows import Window


@dataclass(frozen=True)
class Breakdown:
    figures: dict[str, Figures]  # per segment, over the window
    previous: dict[str, Figures]  # per segment, over the period it is compared with


async def nps_breakdown(
    session: AsyncSession,
    *,
    tenant: str,
    dimension: str,
    window: Window,
    where: SegmentFilter | None = None,
) -> Breakdown:
    """The dimension's NPS figures per segment over the window and the period before."""
    if where:
        figures, previous = await answer_figures.breakdown(
            session, tenant=tenant, kind="nps", dimension=dimension, window=window, where=where
        )
    else:
        figures, previous = await repository.figures_and_previous(
            session, tenant=tenant, kind="nps", dimension=dimension, window=window
        )
    return Breakdown(figures, previous)


async def enps_cells(
    session: AsyncSession, *, tenant: str, cells: list[Cell], k: int, scope: Scope = ()
) -> list[CellView]:
    """Each eNPS cell as a reader with `scope` sees it (one read of the blocks for all of
    them), telling also of the segments awaiting publication."""
    first = min(c.first_day for c in cells)
    last = max(c.months()[-1] for c in cells)
    published = await blocks.enps_blocks(session, tenant=tenant, first=first, last=last)
    awaiting = [
        b
        for b in await blocks.awaiting_blocks(session, tenant=tenant, first=first, last=last)
        if grid.in_scope(b, scope)
    ]
    return [
        grid.with_awaiting(grid.scoped_view(published, cell, k, scope), awaiting) for cell in cells
    ]
