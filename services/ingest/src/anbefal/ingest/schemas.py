"""The generic response body (DESIGN.md §5): our own format; adapters map each tool onto it."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, EmailStr, Field, StringConstraints

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
SegmentName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]


class RespondentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Text | None = Field(default=None, description="Your stable id for the respondent")
    name: Text | None = None
    email: EmailStr | None = None
    phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9 ()-]{4,30}$")] | None = None
    locale: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[A-Z]{2})?$")] | None = None
    account_id: Text | None = None


class OwnersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    salesperson: EmailStr | None = None
    director: EmailStr | None = None


class ResponseIn(BaseModel):
    """One survey answer. `score` is the 0-10 answer to "how likely are you to recommend ..."."""

    model_config = ConfigDict(extra="forbid")

    response_id: Text = Field(description="The answer's id in your system; retries reuse it")
    version: int = Field(
        default=1, ge=1, description="Send a higher version to update an answer (e.g. a comment)"
    )
    kind: Literal["nps", "enps"] = "nps"
    score: int = Field(ge=0, le=10, strict=True, description="Integer 0-10")
    comment: Annotated[str, StringConstraints(max_length=10_000)] | None = None
    answered_at: AwareDatetime = Field(description="When the respondent answered, with offset")
    survey_id: Text | None = None
    respondent: RespondentIn = Field(default_factory=RespondentIn)
    segments: dict[SegmentName, Text] = Field(default_factory=dict, max_length=20)
    owners: OwnersIn = Field(default_factory=OwnersIn)


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    responses: list[ResponseIn] = Field(min_length=1, max_length=500)


class AcceptedItem(BaseModel):
    response_id: str
    event_id: str
    version: int


class Accepted(BaseModel):
    accepted: int
    results: list[AcceptedItem]
    trace_id: str
