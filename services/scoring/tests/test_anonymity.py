from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from anbefal.scoring.anonymity import differencing_risks, suppressed_segments
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


def test_department_minus_a_team_inside_it_is_caught() -> None:
    # ops = red (8) + blue (3): ops and red both shown would give blue's 3 as "ops - red".
    people = {("team", "red"): 8, ("team", "blue"): 3, ("department", "ops"): 11}
    overlaps = {("red", "department", "ops"): 8, ("blue", "department", "ops"): 3}
    shown = {"department": {"ops"}}
    assert differencing_risks("team", people, overlaps, shown, k=5) == {"red"}
    people_d = {("department", "ops"): 11, ("team", "red"): 8}
    overlaps_d = {("ops", "team", "red"): 8}
    assert differencing_risks("department", people_d, overlaps_d, {"team": {"red"}}, 5) == {"ops"}


def test_forced_segments_are_hidden_and_count_towards_the_remainder() -> None:
    segments = {"a": team(8), "b": team(6), "c": team(10)}
    assert suppressed_segments(segments, total_n=24, k=5, also={"a"}) == {"a"}
    assert suppressed_segments(segments, total_n=24, k=5, also={"zz"}) == set()


@given(
    st.lists(st.tuples(st.sampled_from("xyz"), st.sampled_from("pqrs")), min_size=1, max_size=60),
    st.integers(3, 8),
)
def test_no_shown_pair_across_dimensions_differs_by_fewer_than_k(
    people: list[tuple[str, str]], k: int
) -> None:
    # Each person is in one department (x/y/z) and one team (p/q/r/s), in any combination.
    def sizes(index: int) -> dict[str, Figures]:
        out: dict[str, int] = {}
        for person in people:
            out[person[index]] = out.get(person[index], 0) + 1
        return {v: team(n) for v, n in out.items()}

    departments, teams = sizes(0), sizes(1)
    total = len(people)
    counts = {("department", v): f.n for v, f in departments.items()}
    counts |= {("team", v): f.n for v, f in teams.items()}

    def overlaps(first: int) -> dict[tuple[str, str, str], int]:
        other = "team" if first == 0 else "department"
        out: dict[tuple[str, str, str], int] = {}
        for person in people:
            key = (person[first], other, person[1 - first])
            out[key] = out.get(key, 0) + 1
        return out

    def basic(segments: dict[str, Figures]) -> set[str]:
        return set(segments) - suppressed_segments(segments, total, k)

    risky_d = differencing_risks("department", counts, overlaps(0), {"team": basic(teams)}, k)
    risky_t = differencing_risks("team", counts, overlaps(1), {"department": basic(departments)}, k)
    shown_d = set(departments) - suppressed_segments(departments, total, k, also=risky_d)
    shown_t = set(teams) - suppressed_segments(teams, total, k, also=risky_t)
    for d in shown_d:
        for t in shown_t:
            in_d = {i for i, p in enumerate(people) if p[0] == d}
            in_t = {i for i, p in enumerate(people) if p[1] == t}
            assert not 0 < len(in_d ^ in_t) < k
