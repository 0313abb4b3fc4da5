"""eNPS anonymity, pure (DESIGN.md §6, reference/nps-statistics.md): no figure may describe
fewer than k people, directly or by subtraction.

The tenant-wide figure is always published (when it has k people), so the people not shown in
a breakdown — the small segments and those without a value for the dimension — form a group
whose figures anyone can compute as "all minus the shown segments". That group must be empty or
at least k people too; when it is not, the smallest shown segments are hidden as well
(complementary suppression) until it is.
"""

from __future__ import annotations

from anbefal.scoring.nps import Figures

MIN_K = 3


def suppressed_segments(segments: dict[str, Figures], total_n: int, k: int) -> set[str]:
    """The segments to hide so that every shown figure and the hidden remainder have >= k."""
    k = max(k, MIN_K)
    hidden = {value for value, f in segments.items() if f.n < k}
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
