"""Which eNPS comments a reader may see, pure (docs/architecture.md §7 and §17).

A set of comments says as much about the people it comes from as a figure of them does, and
sets subtract like figures: "all the comments minus team red's" are the other teams'. So a set
of eNPS comments is shown exactly where the grid shows the figure of the same people: one cell
(month or quarter), the tenant total or one segment value of one dimension that the cell view
shows (which already hides what "all minus the shown ones" or another dimension would give
away), and, filtered by category, only where that category counts at least k people in it. A
comment is listed only once its group's block was published after the answer last changed
(`repository.py`), so a new answer does not appear on its own between two publications.
"""

from __future__ import annotations

from anbefal.common.nps import Category
from anbefal.scoring.anonymity import effective_k
from anbefal.scoring.grid import TOO_FEW, CellView, Reason
from anbefal.scoring.models import ALL_DIMENSION, ALL_VALUE
from anbefal.scoring.scores_api.request import grid_error
from anbefal.scoring.segment_filter import SegmentFilter


def hidden_reason(
    view: CellView, segments: SegmentFilter, category: Category | None, k: int
) -> Reason | None:
    """Why the comments of these segment values may not be shown (None: they may)."""
    if len(segments.pairs) > 1 or any(len(values) > 1 for _, values in segments.pairs):
        raise grid_error("eNPS comments are shown for one segment value at most")
    dimension, value = next(
        ((d, values[0]) for d, values in segments.pairs), (ALL_DIMENSION, ALL_VALUE)
    )
    figures = view.shown(dimension, value)
    if figures is None:
        return view.reason(dimension, value) or TOO_FEW
    if category is not None:
        count = {"promoter": figures.promoters, "passive": figures.passives}.get(
            category, figures.detractors
        )
        if count < effective_k(k):
            return TOO_FEW
    return None
