"""What a reader may see: the scores API, its CSV export, its timeseries and the
`anbefal.scores.v1` events all ask here. NPS figures are sums of daily buckets over any range;
eNPS figures are cells of the publication grid (grid.py), with its suppression."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.scoring import blocks, grid, repository
from anbefal.scoring.grid import Cell, CellView
from anbefal.scoring.nps import Figures


@dataclass(frozen=True)
class Breakdown:
    figures: dict[str, Figures]  # per segment, over [first, last]
    previous: dict[str, Figures]  # per segment, over the period of the same length before


async def nps_breakdown(
    session: AsyncSession, *, tenant: str, dimension: str, first: date, last: date
) -> Breakdown:
    """The dimension's NPS figures per segment over [first, last] and the period before."""
    figures, previous = await repository.figures_and_previous(
        session, tenant=tenant, kind="nps", dimension=dimension, first=first, last=last
    )
    return Breakdown(figures, previous)


async def enps_cells(
    session: AsyncSession, *, tenant: str, cells: list[Cell], k: int
) -> list[CellView]:
    """Each eNPS cell as every reader sees it (one read of the blocks for all of them)."""
    first = min(c.first_day for c in cells)
    last = max(c.months()[-1] for c in cells)
    published = await blocks.enps_blocks(session, tenant=tenant, first=first, last=last)
    return [grid.view(published, cell, k) for cell in cells]
