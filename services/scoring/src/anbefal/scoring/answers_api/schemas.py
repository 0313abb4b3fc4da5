"""The answers API's response models."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from anbefal.scoring.schemas import SuppressedReason


class RespondentOut(BaseModel):
    key: str | None
    name: str | None
    account_id: str | None


class AnswerOut(BaseModel):
    id: str
    kind: str
    comment: str | None
    score: int | None = Field(description="NPS only")
    category: str | None = Field(description="NPS only")
    day: date | None = Field(description="NPS only: the day in the tenant's time zone")
    answered_at: datetime | None = Field(description="NPS only, in the tenant's time zone")
    period: str | None = Field(
        default=None, description="eNPS only: the grid cell (`YYYY-MM` or `YYYY-Qn`) asked for"
    )
    segments: dict[str, str] | None = Field(description="NPS only")
    respondent: RespondentOut | None = Field(
        description="NPS only: key, name and account; never contact details"
    )


class PeriodOut(BaseModel):
    name: str
    first_day: date
    last_day: date
    time_zone: str
    cell: str | None = None


class AnswersOut(BaseModel):
    tenant: str
    kind: str
    period: PeriodOut
    filter: list[str] = Field(
        description="the segment values read (`dimension:value`), scope included"
    )
    total: int = Field(description="how many answers match, over every page")
    suppressed_reason: SuppressedReason | None = Field(
        default=None,
        description="eNPS: why no comment is shown for this group (the grid hides its figure)",
    )
    answers: list[AnswerOut]
    next: str | None = Field(description="the cursor of the next page; null on the last")
    next_url: str | None = None
