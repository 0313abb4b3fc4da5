"""Who owns an answer, pure: the owners hint, then the account, then the segment, then the
tenant default. None means nobody: the action goes to the tenant's fallback queue.

Also the documents of `PUT .../accounts` and `PUT .../people` (as CSV: `owners_csv.py`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from anbefal.common.events import OwnerSource, SurveyResponse

# Who a rule routes to; not a token role (common.auth.Role).
AssigneeRole = Literal["director", "salesperson"]
Email = Annotated[str, Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class AccountOwner(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    account_id: str = Field(min_length=1, max_length=200)
    salesperson: Email | None = None
    director: Email | None = None


class SegmentOwner(BaseModel):
    """A department, store, country ... and its director. Earlier entries win on a tie."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dimension: str = Field(min_length=1, max_length=63)
    value: str = Field(min_length=1, max_length=200)
    director: Email


class AccountsDoc(BaseModel):
    """The body of `PUT .../accounts`: replaces the tenant's account and segment owners."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    accounts: list[AccountOwner] = Field(default_factory=list, max_length=100_000)
    segments: list[SegmentOwner] = Field(default_factory=list, max_length=10_000)

    @model_validator(mode="after")
    def _unique(self) -> AccountsDoc:
        _refuse_repeats("account_id", [a.account_id for a in self.accounts])
        _refuse_repeats("segment", [f"{s.dimension}={s.value}" for s in self.segments])
        return self

    def accounts_by_id(self) -> dict[str, AccountOwner]:
        return {a.account_id: a for a in self.accounts}


def _days(value: Any) -> Any:
    # CSV cells carry the days as one string: "mon tue wed" or "mon-fri".
    if isinstance(value, str):
        value = value.strip().lower()
        if "-" in value and " " not in value:
            first, _, last = value.partition("-")
            if first in DAYS and last in DAYS:
                return list(DAYS[DAYS.index(first) : DAYS.index(last) + 1])
        return value.replace(",", " ").split()
    return value


class Person(BaseModel):
    """An assignee's time zone and working hours, for business-hours due times."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    email: Email
    name: str | None = Field(default=None, max_length=200)
    time_zone: str = "Europe/Copenhagen"
    work_start: time = time(8, 0)
    work_end: time = time(16, 0)
    work_days: Annotated[list[Literal[DAYS]], BeforeValidator(_days)] = Field(  # type: ignore[valid-type]
        default_factory=lambda: list(DAYS[:5]), min_length=1
    )
    holiday_country: str | None = Field(
        default=None, pattern=r"^[A-Z]{2}$", description="None: the tenant's calendar"
    )

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _hours(self) -> Person:
        if self.work_start >= self.work_end:
            raise ValueError(f"work_start {self.work_start} is not before work_end {self.work_end}")
        return self

    @property
    def weekdays(self) -> frozenset[int]:
        return frozenset(DAYS.index(d) for d in self.work_days)


class PeopleDoc(BaseModel):
    """The body of `PUT .../people`: replaces the tenant's people."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    people: list[Person] = Field(default_factory=list, max_length=100_000)

    @model_validator(mode="after")
    def _unique(self) -> PeopleDoc:
        _refuse_repeats("email", [p.email.lower() for p in self.people])
        return self


class OwnerCounts(BaseModel):
    """How many of each a tenant has loaded (or a replace loaded); absent: not asked."""

    tenant: str
    accounts: int | None = None
    segments: int | None = None
    people: int | None = None


def _refuse_repeats(what: str, values: Sequence[str]) -> None:
    repeated = sorted(v for v, n in Counter(values).items() if n > 1)
    if repeated:
        raise ValueError(f"each {what} once; repeated: {', '.join(repeated[:10])}")


@dataclass(frozen=True)
class Directory:
    """The owners a batch of answers may need, loaded by the handler."""

    accounts: Mapping[str, AccountOwner] = field(default_factory=dict)
    segments: Sequence[SegmentOwner] = ()
    people: Mapping[str, Person] = field(default_factory=dict)

    def person(self, email: str | None) -> Person | None:
        return self.people.get(email.lower()) if email else None


EMPTY_DIRECTORY = Directory()


def resolve(
    response: SurveyResponse,
    role: AssigneeRole,
    directory: Directory,
    default_director: str | None,
    default_salesperson: str | None,
) -> str | None:
    """The owner of `response` in `role`, by the resolution order above."""
    return resolve_source(response, role, directory, default_director, default_salesperson)[0]


def resolve_source(
    response: SurveyResponse,
    role: AssigneeRole,
    directory: Directory,
    default_director: str | None,
    default_salesperson: str | None,
) -> tuple[str | None, OwnerSource | None]:
    """The owner of `response` in `role` and where it came from: the answer's own hint, or the
    tenant's accounts, segments or defaults; `(None, None)` for nobody."""
    account = directory.accounts.get(response.respondent.account_id or "")
    if role == "director":
        if response.owners.director:
            return response.owners.director, "hint"
        if account is not None and account.director:
            return account.director, "account"
        for segment in directory.segments:
            if response.segments.get(segment.dimension) == segment.value:
                return segment.director, "segment"
        return _default(default_director)
    if response.owners.salesperson:
        return response.owners.salesperson, "hint"
    if account is not None and account.salesperson:
        return account.salesperson, "account"
    return _default(default_salesperson)


def _default(address: str | None) -> tuple[str | None, OwnerSource | None]:
    return (address, "default") if address else (None, None)
