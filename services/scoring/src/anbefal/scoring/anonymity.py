"""eNPS anonymity, pure (docs/architecture.md §7): no figure may describe fewer than k people,
directly or by subtraction.

The tenant-wide figure is always published (when it has k people), so the people not shown in
a breakdown — the small segments and those without a value for the dimension — form a group
whose figures anyone can compute as "all minus the shown segments". That group must be empty or
at least k people too; when it is not, the smallest shown segments are hidden as well
(complementary suppression) until it is.

Across dimensions: a department and a team inside it are both shown in their own breakdowns,
and "department minus team" describes the people in one and not the other. When that
symmetric difference has 1..k-1 people, each breakdown hides its side of the pair.

The two rules interact: hiding a segment for a cross-dimension risk changes which segments the
complementary suppression picks, and can so *show* one that the first pass hid. So every
dimension's hidden set is decided together (`hidden_everywhere`), repeated until no new risk
appears; checking each dimension only against the others' first-pass sets let such a pair
through (found by tests/test_anonymity.py's property test).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

from anbefal.scoring.nps import Figures

MIN_K = 3


def effective_k(k: int) -> int:
    """The tenant's k, never below MIN_K."""
    return max(k, MIN_K)


def is_hidden(kind: str, value: str, figures: Figures, hidden: Collection[str], k: int) -> bool:
    """Whether no reader may see a segment's figure: the one rule the scores API, its CSV export,
    its timeseries and the `anbefal.scores.v1` events apply. NPS figures are always shown; an
    eNPS figure is hidden when it describes fewer than k people (an empty one too: n=0 would say
    "nobody") or when its breakdown hides the segment (`hidden`)."""
    return kind == "enps" and (figures.n < effective_k(k) or value in hidden)


def suppressed_segments(
    segments: dict[str, Figures], total_n: int, k: int, *, also: Iterable[str] = ()
) -> set[str]:
    """The segments to hide so that every shown figure and the hidden remainder have >= k;
    `also` are hidden for another reason (and count towards the remainder)."""
    k = effective_k(k)
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
    k = effective_k(k)
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


def hidden_everywhere(
    segments: Mapping[str, dict[str, Figures]],
    total_n: int,
    people: Mapping[tuple[str, str], int],
    overlaps: Mapping[str, Mapping[tuple[str, str, str], int]],
    k: int,
) -> dict[str, set[str]]:
    """The segments each dimension's breakdown hides, decided for all dimensions together.

    `segments[dim]` are the dimension's figures, `people[(dim, value)]` each segment's size and
    `overlaps[dim][(value, other_dim, other_value)]` how many people are in both. The risky
    sets only grow, so this ends; when it does, no shown segment differs from a shown segment
    of another dimension by 1..k-1 people, and each dimension's remainder is empty or >= k."""
    risky: dict[str, set[str]] = {dim: set() for dim in segments}
    while True:
        hidden = {
            dim: suppressed_segments(figures, total_n, k, also=risky[dim])
            for dim, figures in segments.items()
        }
        shown = {dim: set(segments[dim]) - hidden[dim] for dim in segments}
        grew = False
        for dim in segments:
            others = {other: values for other, values in shown.items() if other != dim}
            found = differencing_risks(dim, people, overlaps.get(dim, {}), others, k)
            if not found <= risky[dim]:
                risky[dim] |= found
                grew = True
        if not grew:
            return hidden
