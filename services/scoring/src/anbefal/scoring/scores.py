"""What a reader may see of one dimension's segments: the scores API, its CSV export and the
`anbefal.scores.v1` events all ask here, so they suppress exactly the same eNPS figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.scoring import repository
from anbefal.scoring.anonymity import hidden_everywhere, is_hidden, suppressed_segments
from anbefal.scoring.models import ALL_DIMENSION, ALL_VALUE
from anbefal.scoring.nps import Figures


@dataclass(frozen=True)
class Breakdown:
    kind: str
    k: int
    figures: dict[str, Figures]  # per segment, over [first, last]
    previous: dict[str, Figures]  # per segment, over the period of the same length before
    hidden: set[str]  # the segments the breakdown hides (complementary, cross-dimension)

    def hides(self, value: str, figures: Figures | None = None) -> bool:
        """Whether a reader may not see the segment's figure (`figures`: another period's figure
        of the segment, by default the breakdown's own)."""
        if figures is None:
            figures = self.figures.get(value, Figures())
        return is_hidden(self.kind, value, figures, self.hidden, self.k)


async def breakdown(
    session: AsyncSession,
    *,
    tenant: str,
    kind: str,
    dimension: str,
    first: date,
    last: date,
    k: int,
) -> Breakdown:
    """The dimension's figures per segment over [first, last] (and the period before), and
    the segments to hide."""
    figures, previous = await repository.figures_and_previous(
        session, tenant=tenant, kind=kind, dimension=dimension, first=first, last=last
    )
    if kind != "enps":
        return Breakdown(kind, k, figures, previous, set())
    every = await repository.every_segment_figures(
        session, tenant=tenant, kind=kind, first=first, last=last
    )
    total = every.get(ALL_DIMENSION, {}).get(ALL_VALUE, Figures()).n
    segments = {dim: values for dim, values in every.items() if dim != ALL_DIMENSION}
    segments[dimension] = figures
    if len(segments) == 1:
        return Breakdown(kind, k, figures, previous, suppressed_segments(figures, total, k))
    # Who is in which segment comes from the answers, not the (published) buckets: the check is
    # about people, and the answers table knows each person's segments together.
    people, overlaps = await repository.people_and_overlaps(
        session, tenant=tenant, kind=kind, first=first, last=last
    )
    hidden = hidden_everywhere(segments, total, people, overlaps, k)
    return Breakdown(kind, k, figures, previous, hidden[dimension])
