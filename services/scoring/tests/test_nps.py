from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anbefal.common.nps import category
from anbefal.scoring.nps import Figures


@given(st.lists(st.integers(min_value=0, max_value=10), min_size=1, max_size=300))
def test_nps_equals_direct_computation(scores: list[int]) -> None:
    figures = Figures()
    for score in scores:
        cat = category(score)
        figures = figures + Figures(
            int(cat == "promoter"), int(cat == "passive"), int(cat == "detractor")
        )
    promoters = sum(1 for s in scores if s >= 9)
    detractors = sum(1 for s in scores if s <= 6)
    assert figures.n == len(scores)
    assert figures.nps is not None
    assert math.isclose(figures.nps, 100 * (promoters - detractors) / len(scores))
    interval = figures.interval()
    assert interval is not None
    assert -100 <= interval.low <= interval.high <= 100


@given(st.integers(0, 200), st.integers(0, 200), st.integers(0, 200))
def test_interval_is_adjusted_wald(p: int, pa: int, d: int) -> None:
    figures = Figures(p, pa, d)
    if figures.n == 0:
        assert figures.interval() is None
        assert figures.nps is None
        return
    n = figures.n + 3
    pp, dd = (p + 0.75) / n, (d + 0.75) / n
    half = 1.959963984540054 * math.sqrt((pp + dd - (pp - dd) ** 2) / n)
    interval = figures.interval()
    assert interval is not None
    assert math.isclose(interval.low, max(-100, 100 * (pp - dd - half)), abs_tol=1e-9)
    assert math.isclose(interval.high, min(100, 100 * (pp - dd + half)), abs_tol=1e-9)


def test_worked_example() -> None:
    # Rocks (2016), adjusted Wald: n = 20, 10 promoters, 4 detractors -> raw +30,
    # 95% interval -5.7 to +57.9.
    figures = Figures(promoters=10, passives=6, detractors=4)
    assert figures.nps == pytest.approx(30.0)
    interval = figures.interval()
    assert interval is not None
    assert interval.low == pytest.approx(-5.7, abs=0.05)
    assert interval.high == pytest.approx(57.9, abs=0.05)


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (0, "detractor"),
        (6, "detractor"),
        (7, "passive"),
        (8, "passive"),
        (9, "promoter"),
        (10, "promoter"),
    ],
)
def test_category_boundaries(score: int, expected: str) -> None:
    assert category(score) == expected


@pytest.mark.parametrize("score", [-1, 11])
def test_category_refuses_out_of_scale(score: int) -> None:
    with pytest.raises(ValueError, match="outside 0-10"):
        category(score)


def test_significance_of_a_change() -> None:
    from anbefal.scoring.nps import significant_change

    assert significant_change(Figures(20, 0, 0), Figures(0, 0, 20)) is True
    assert significant_change(Figures(5, 5, 5), Figures(5, 5, 5)) is False
    # +10 points on 30 answers each is well inside the noise.
    assert significant_change(Figures(12, 9, 9), Figures(9, 12, 9)) is False
    assert significant_change(Figures(3, 0, 0), Figures()) is None
