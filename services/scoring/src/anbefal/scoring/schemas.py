from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

# Why an eNPS figure is hidden: it describes fewer than k people, or showing it would let a
# reader compute one that does ("all minus the shown segments", another dimension, a quarter
# minus its months). Never an exact count below k.
SuppressedReason = Literal["too_few_answers", "hidden_to_protect_another_segment"]


class IntervalOut(BaseModel):
    low: float
    high: float


class SegmentScore(BaseModel):
    value: str
    suppressed: bool = False
    suppressed_reason: SuppressedReason | None = None
    n: int | None
    promoters: int | None
    passives: int | None
    detractors: int | None
    nps: float | None
    interval: IntervalOut | None
    previous_nps: float | None = None
    # eNPS: why `previous_nps` is null although the segment had answers before (the previous
    # cell hides the segment, so its figure is not shown here either).
    previous_suppressed_reason: SuppressedReason | None = None
    significant_change: bool | None = None


class WindowOut(BaseModel):
    name: str
    first_day: date
    last_day: date
    time_zone: str
    cell: str | None = Field(
        default=None, description="eNPS: the grid cell, `YYYY-MM` (a month) or `YYYY-Qn`"
    )
    closed: bool | None = Field(
        default=None,
        description="eNPS: whether the cell has ended; an open cell's figures move only in "
        "steps of at least k answers of one group of people",
    )
    as_of: datetime | None = Field(
        default=None, description="eNPS: when the cell's figures shown last moved"
    )


class ScoresOut(BaseModel):
    tenant: str
    kind: str
    dimension: str
    window: WindowOut
    segments: list[SegmentScore]


class TimeseriesPoint(BaseModel):
    period_start: date
    cell: str | None = None
    suppressed: bool = False
    suppressed_reason: SuppressedReason | None = None
    n: int | None
    promoters: int | None
    passives: int | None
    detractors: int | None
    nps: float | None
    interval: IntervalOut | None


class TimeseriesOut(BaseModel):
    tenant: str
    kind: str
    dimension: str
    value: str
    interval: str
    first_day: date
    last_day: date
    time_zone: str
    points: list[TimeseriesPoint]
