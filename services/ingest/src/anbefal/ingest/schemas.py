"""The generic response body: our own format; adapters map each tool onto it (README, "The
generic API")."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from anbefal.ingest.emails import Email

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
SegmentName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
# Scoring keeps the tenant's total as the segment dimension "all": an answer's own "all"
# would be counted in the total twice.
RESERVED_SEGMENTS = frozenset({"all"})


class RespondentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Text | None = Field(default=None, description="Your stable id for the respondent")
    name: Text | None = None
    email: Email | None = None
    phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9 ()-]{4,30}$")] | None = None
    locale: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[A-Z]{2})?$")] | None = None
    account_id: Text | None = None


class OwnersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    salesperson: Email | None = None
    director: Email | None = None


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
    history: bool = Field(
        default=False,
        strict=True,
        description="An answer from the past (a backfill): scored with its own date, never routed "
        "(no task, no mail)",
    )

    @field_validator("segments")
    @classmethod
    def _not_reserved(cls, segments: dict[str, str]) -> dict[str, str]:
        reserved = sorted(RESERVED_SEGMENTS & set(segments))
        if reserved:
            raise ValueError(f"segment name {reserved[0]!r} is reserved for the tenant's total")
        return segments


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    responses: list[ResponseIn] = Field(min_length=1, max_length=500)
    history: bool = Field(
        default=False, strict=True, description="Every item is history (see the item's field)"
    )


class ItemResult(BaseModel):
    index: int
    status: Literal["accepted", "duplicate", "rejected"] = Field(
        description="accepted: published now; duplicate: this version was already received"
    )
    response_id: str | None = None
    event_id: str | None = None
    version: int | None = None
    errors: list[dict[str, str]] = Field(default_factory=list)


class Accepted(BaseModel):
    accepted: int = Field(description="Answers Kafka has (new plus duplicates)")
    new: int
    duplicates: int
    rejected: int
    rejected_id: int | None = Field(default=None, description="Where the refused items are kept")
    results: list[ItemResult]
    trace_id: str


def parse_items(doc: Any) -> list[ResponseIn]:
    """One response, or `{"responses": [...]}`; raises ValidationError naming the bad fields."""
    if isinstance(doc, dict) and "responses" in doc:
        batch = BatchIn.model_validate(doc)
        if batch.history:
            return [item.model_copy(update={"history": True}) for item in batch.responses]
        return batch.responses
    return [ResponseIn.model_validate(doc)]
