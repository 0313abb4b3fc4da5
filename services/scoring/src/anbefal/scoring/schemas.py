from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from anbefal.scoring.grid import Reason

# Why an eNPS figure is hidden (grid.Reason): `too_few` (fewer than k people),
# `protects_other_segment` (showing it would let a reader compute one that does: "all minus the
# shown segments", another dimension, a quarter minus its months) or `awaiting_changes` (people
# answered, but their blocks have not had the k changes it takes to be published). Never a count.
SuppressedReason = Reason
AS_OF_HELP = (
    "When the figures are current to: NPS counts every answer stored, so the time of the read; "
    "eNPS the last publication of a block the figures include (null: none published yet)"
)


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
    previous_first_day: date | None = Field(
        default=None, description="The first day of the period this figure is compared with"
    )
    previous_last_day: date | None = Field(
        default=None, description="The last day of the period this figure is compared with"
    )
    previous_n: int | None = Field(
        default=None, description="Answers in the previous period (null where it is hidden)"
    )
    change: float | None = Field(
        default=None, description="`nps` minus `previous_nps`, in points (null without both)"
    )


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
    previous_first_day: date | None = Field(
        default=None, description="The first day of the period the figures are compared with"
    )
    previous_last_day: date | None = None


FILTERS_HELP = (
    "The segment values the figures are limited to (`dimension:value`): the request's "
    "`filter` and the reader's scope"
)


class ScoresOut(BaseModel):
    tenant: str
    kind: str
    dimension: str
    window: WindowOut
    as_of: datetime | None = Field(description=AS_OF_HELP)
    filters: list[str] = Field(default_factory=list, description=FILTERS_HELP)
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
    as_of: datetime | None = Field(description=AS_OF_HELP)
    filters: list[str] = Field(default_factory=list, description=FILTERS_HELP)
    points: list[TimeseriesPoint]
