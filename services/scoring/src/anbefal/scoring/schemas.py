from __future__ import annotations

from datetime import date

from pydantic import BaseModel


class IntervalOut(BaseModel):
    low: float
    high: float


class SegmentScore(BaseModel):
    value: str
    suppressed: bool = False
    n: int | None
    promoters: int | None
    passives: int | None
    detractors: int | None
    nps: float | None
    interval: IntervalOut | None
    previous_nps: float | None = None
    significant_change: bool | None = None


class WindowOut(BaseModel):
    name: str
    first_day: date
    last_day: date
    time_zone: str


class ScoresOut(BaseModel):
    tenant: str
    kind: str
    dimension: str
    window: WindowOut
    segments: list[SegmentScore]


class TimeseriesPoint(BaseModel):
    period_start: date
    suppressed: bool = False
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
