"""eNPS anonymity, pure (DESIGN.md §6, reference/nps-statistics.md): no figure may describe
fewer than k people, directly or by subtraction.

The tenant-wide figure is always published (when it has k people), so the people not shown in
a breakdown — the small segments and those without a value for the dimension — form a group
whose figures anyone can compute as "all minus the shown segments". That group must be empty or
at least k people too; when it is not, the smallest shown segments are hidden as well
(complementary suppression) until it is.

Across dimensions: a department and a team inside it are both shown in their own breakdowns,
and "department minus team" describes the people in one and not the other. When that
symmetric difference has 1..k-1 people, each breakdown hides its side of the pair.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from anbefal.scoring.nps import Figures

MIN_K = 3


def suppressed_segments(
    segments: dict[str, Figures], total_n: int, k: int, *, also: Iterable[str] = ()
) -> set[str]:
    """The segments to hide so that every shown figure and the hidden remainder have >= k;
    `also` are hidden for another reason (and count towards the remainder)."""
    k = max(k, MIN_K)
    hidden = {value for value, f in segments.items() if f.n < k} | (set(also) & set(segments))
    unsegmented = total_n - sum(f.n for f in segments.values())
    remainder = unsegmented + sum(segments[v].n for v in hidden)
    shown = sorted((f.n, value) for value, f in segments.items() if value not in hidden)
    while 0 < remainder < k and shown:
        n, value = shown.pop(0)
        hidden.add(value)
        remainder += n
    if 0 < remainder < k:
        # Even hiding everything leaves a small remainder beside the total: show no breakdown.
        hidden = set(segments)
    return hidden


def differencing_risks(
    dimension: str,
    people: Mapping[tuple[str, str], int],
    overlaps: Mapping[tuple[str, str, str], int],
    shown_elsewhere: Mapping[str, set[str]],
    k: int,
) -> set[str]:
    """Segments of `dimension` that differ from a segment shown in another dimension's
    breakdown by 1..k-1 people (in one of the two and not in the other).

    `people[(dim, value)]` is a segment's size, `overlaps[(value, other_dim, other_value)]`
    how many people are in both, `shown_elsewhere[other_dim]` the values that breakdown shows.
    """
    k = max(k, MIN_K)
    risky: set[str] = set()
    for (dim, value), n in people.items():
        if dim != dimension:
            continue
        for other_dim, shown in shown_elsewhere.items():
            if other_dim == dimension:
                continue
            for other in shown:
                both = overlaps.get((value, other_dim, other), 0)
                if both == 0:
                    continue  # disjoint: the difference is two whole shown segments
                apart = n + people.get((other_dim, other), 0) - 2 * both
                if 0 < apart < k:
                    risky.add(value)
    return risky
