from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from anbefal.scoring.anonymity import suppressed_segments
from anbefal.scoring.nps import Figures


def team(n: int) -> Figures:
    return Figures(promoters=n, passives=0, detractors=0)


def test_a_team_of_four_is_hidden_and_takes_the_next_smallest_with_it() -> None:
    segments = {"sales": team(12), "support": team(4), "it": team(6)}
    # Hiding only support (4) would let anyone compute it as all - sales - it.
    assert suppressed_segments(segments, total_n=22, k=5) == {"support", "it"}


def test_department_minus_one_team_is_refused_through_the_remainder() -> None:
    # 2 people have no team: all - (shown teams) would reveal those 2.
    segments = {"a": team(8), "b": team(9)}
    assert suppressed_segments(segments, total_n=19, k=5) == {"a"}


def test_large_enough_segments_are_shown() -> None:
    assert suppressed_segments({"a": team(5), "b": team(7)}, total_n=12, k=5) == set()


def test_k_never_goes_below_three() -> None:
    assert suppressed_segments({"a": team(2), "b": team(10)}, total_n=12, k=1) == {"a", "b"}


@given(
    st.dictionaries(st.text(min_size=1, max_size=3), st.integers(0, 30), max_size=8),
    st.integers(0, 10),
    st.integers(3, 10),
)
def test_no_visible_figure_and_no_remainder_describes_fewer_than_k(
    sizes: dict[str, int], unsegmented: int, k: int
) -> None:
    segments = {v: team(n) for v, n in sizes.items() if n > 0}
    total = sum(f.n for f in segments.values()) + unsegmented
    hidden = suppressed_segments(segments, total, k)
    shown = {v: f for v, f in segments.items() if v not in hidden}
    assert all(f.n >= k for f in shown.values())
    remainder = total - sum(f.n for f in shown.values())
    assert remainder == 0 or remainder >= k or not shown
