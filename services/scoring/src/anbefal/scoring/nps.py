"""The NPS math, pure.

NPS = 100 * (promoters - detractors) / n; passives count in n. The 95% interval is the
adjusted-Wald interval (Rocks 2016): add 3 to n and 3/4 to promoters and detractors, then use
the Wald variance p + d - (p - d)^2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


@dataclass(frozen=True)
class Figures:
    promoters: int = 0
    passives: int = 0
    detractors: int = 0

    @property
    def n(self) -> int:
        return self.promoters + self.passives + self.detractors

    @property
    def nps(self) -> float | None:
        """NPS in points (-100..100), or None when nobody answered."""
        if self.n == 0:
            return None
        return 100.0 * (self.promoters - self.detractors) / self.n

    def interval(self, z: float = Z95) -> Interval | None:
        """Adjusted-Wald interval in NPS points, clipped to [-100, 100]."""
        if self.n == 0:
            return None
        n = self.n + 3
        p = (self.promoters + 0.75) / n
        d = (self.detractors + 0.75) / n
        centre = p - d
        half = z * math.sqrt((p + d - centre**2) / n)
        return Interval(
            low=max(-100.0, 100 * (centre - half)), high=min(100.0, 100 * (centre + half))
        )

    def __add__(self, other: Figures) -> Figures:
        return Figures(
            self.promoters + other.promoters,
            self.passives + other.passives,
            self.detractors + other.detractors,
        )


def _variance(f: Figures) -> float:
    p, d = f.promoters / f.n, f.detractors / f.n
    return p + d - (p - d) ** 2


def significant_change(current: Figures, previous: Figures, z: float = Z95) -> bool | None:
    """Two-sample Wald z-test on NPS: is current different from previous at 95%?

    None when either period has no answers: there is nothing to compare.
    """
    if current.n == 0 or previous.n == 0:
        return None
    assert current.nps is not None
    assert previous.nps is not None
    difference = (current.nps - previous.nps) / 100
    se = math.sqrt(_variance(current) / current.n + _variance(previous) / previous.n)
    if se == 0:
        return difference != 0
    return abs(difference) / se > z
