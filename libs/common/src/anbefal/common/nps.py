"""The NPS categories and their score bands, written once: scoring counts by them, closed_loop's
default rules route by them, notify's detractor clock and chat messages start from them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Category = Literal["promoter", "passive", "detractor"]


@dataclass(frozen=True)
class ScoreBand:
    """Scores `low` to `high`, both included."""

    low: int
    high: int

    def __contains__(self, score: object) -> bool:
        return isinstance(score, int) and self.low <= score <= self.high


DETRACTORS = ScoreBand(0, 6)
PASSIVES = ScoreBand(7, 8)
PROMOTERS = ScoreBand(9, 10)
SCORES = ScoreBand(0, 10)


def category(score: int) -> Category:
    if score not in SCORES:
        raise ValueError(f"score {score} is outside 0-10")
    if score in PROMOTERS:
        return "promoter"
    if score in PASSIVES:
        return "passive"
    return "detractor"


def is_detractor(score: int) -> bool:
    return score in DETRACTORS
