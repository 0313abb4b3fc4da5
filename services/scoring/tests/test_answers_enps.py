"""Which eNPS comments the answers API shows, pure: exactly where the grid shows the figure of
the same people."""

from __future__ import annotations

import pytest

from anbefal.common.errors import Unprocessable
from anbefal.scoring.answers_api.enps import hidden_reason
from anbefal.scoring.grid import PROTECTS, TOO_FEW, Cell, CellView
from anbefal.scoring.nps import Figures
from anbefal.scoring.segment_filter import SegmentFilter


def F(values: dict[str, str]) -> SegmentFilter:
    return SegmentFilter.parse(f"{d}:{v}" for d, v in values.items())


VIEW = CellView(
    Cell("month", 2026, 11),
    {
        "all": {"all": Figures(9, 4, 2)},
        "team": {"red": Figures(6, 2, 1), "blue": Figures(3, 2, 1)},
    },
    {"team": {"blue": PROTECTS}},
)


def test_comments_follow_the_grids_suppression() -> None:
    assert hidden_reason(VIEW, F({}), None, 5) is None
    assert hidden_reason(VIEW, F({"team": "red"}), None, 5) is None
    assert hidden_reason(VIEW, F({"team": "blue"}), None, 5) == PROTECTS
    assert hidden_reason(VIEW, F({"team": "gone"}), None, 5) == TOO_FEW


def test_a_category_needs_k_people_of_it() -> None:
    assert hidden_reason(VIEW, F({"team": "red"}), "promoter", 5) is None
    assert hidden_reason(VIEW, F({"team": "red"}), "passive", 5) == TOO_FEW
    assert hidden_reason(VIEW, F({}), "passive", 3) is None
    assert hidden_reason(VIEW, F({}), "detractor", 5) == TOO_FEW


def test_two_dimensions_or_values_have_no_figure_to_follow() -> None:
    with pytest.raises(Unprocessable):
        hidden_reason(VIEW, F({"team": "red", "department": "Ops"}), None, 5)
    with pytest.raises(Unprocessable):
        hidden_reason(VIEW, SegmentFilter.parse(["team:red", "team:blue"]), None, 5)
