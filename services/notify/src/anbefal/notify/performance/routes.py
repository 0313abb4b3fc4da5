"""`GET /v1/tenants/{t}/loop-stats`: how the tenant's tasks were worked, per period and
segment. A reader with a scope (a team lead) counts only the tasks inside it."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from anbefal.common.auth import Principal, Role
from anbefal.common.deps import SessionDep, TenantPath, allow
from anbefal.common.errors import Unprocessable
from anbefal.common.events import Kind, TenantSettings
from anbefal.notify.models import TENANTS
from anbefal.notify.performance import repository
from anbefal.notify.performance.period import DEFAULT_WINDOW, period
from anbefal.notify.performance.repository import Counts, Selection
from anbefal.notify.reasons import repository as reason_codes
from anbefal.notify.reasons.model import Labels

Reader = Annotated[Principal, allow(Role.ADMIN, Role.DIRECTOR, Role.VIEWER, Role.AGENT)]
router = APIRouter(tags=["tasks"])
DEFAULT_ZONE = TenantSettings.model_fields["time_zone"].default


class Figures(BaseModel):
    tasks: int = Field(description="Tasks made for the period's answers (cancelled ones aside)")
    detractors_with_task: int = Field(description="Detractors' answers (0-6) with a task")
    with_due: int = Field(description="Tasks with a due time")
    contacted: int = Field(description="Tasks taken up: claimed (completing needs a claim)")
    contacted_within_due: int = Field(description="Tasks first taken up by their due time")
    contacted_within_due_share: float | None = Field(
        description="contacted_within_due / with_due; null without tasks with a due time"
    )
    median_first_contact_s: float | None = Field(
        description="Median seconds from the answer to the task's first claim"
    )
    done: int
    open: int = Field(description="Open or claimed now")
    overdue_now: int = Field(description="Open or claimed now and past their due time")
    outcomes: dict[str, int] = Field(description="Done tasks per outcome")
    reasons: dict[str, int] = Field(description="Done tasks per reason code (given ones only)")


class SegmentFigures(Figures):
    value: str | None = Field(description="The segment value; null: tasks without one")


class PeriodOut(BaseModel):
    first_day: date
    last_day: date
    time_zone: str
    window: str | None = Field(description="The rolling window; null for a from/to range")


class LoopStats(BaseModel):
    tenant: str
    kind: Kind
    period: PeriodOut
    as_of: datetime
    dimension: str | None
    total: Figures
    segments: list[SegmentFigures]
    reason_labels: dict[str, Labels] = Field(description="The tenant's reason codes' labels")


def _figures(counts: Counts) -> dict[str, object]:
    share = counts.contacted_within_due / counts.with_due if counts.with_due else None
    return {**asdict(counts), "contacted_within_due_share": share}


@router.get(
    "/v1/tenants/{tenant}/loop-stats",
    response_model=LoopStats,
    summary="Closed-loop performance per period and segment",
    description="The tasks of the answers given in the period (days in the tenant's time "
    "zone): detractors with a task, the share first taken up within the due time, the median "
    "time from the answer to the first claim, outcomes and reasons of the done ones, and how "
    "many are open and overdue now. `by` adds the same figures per value of a dimension. A "
    "reader with a scope counts only the tasks inside it.",
)
async def loop_stats(
    tenant: TenantPath,
    principal: Reader,
    session: SessionDep,
    window: Annotated[
        str | None, Query(max_length=5, description=f"`Nd` up to today (default {DEFAULT_WINDOW})")
    ] = None,
    first: Annotated[date | None, Query(alias="from", description="First day")] = None,
    last: Annotated[date | None, Query(alias="to", description="Last day (inclusive)")] = None,
    by: Annotated[
        str | None, Query(max_length=40, description="A dimension, e.g. `department`")
    ] = None,
    kind: Kind = "nps",
) -> LoopStats:
    now = datetime.now(UTC)
    settings = (await TENANTS.load(session, [tenant])).get(tenant)
    zone = ZoneInfo(settings.time_zone if settings else DEFAULT_ZONE)
    when = period(window, first, last, zone, now)
    selection = Selection(tenant, kind, when, principal.scope, by)
    found = await repository.counts(session, selection, now)
    segments = [
        SegmentFigures(value=key[0], **_figures(counts))
        for key, counts in found.items()
        if key is not None
    ]
    if by is not None and not any(s.value is not None for s in segments):
        known = await repository.dimensions(session, tenant, principal.scope)
        if by not in known:
            raise Unprocessable(
                f"unknown dimension {by!r}; the tasks have: {', '.join(known) or 'none'}",
                code="unknown_dimension",
                details=[{"field": "by", "message": "unknown dimension", "allowed": list(known)}],
            )
    reasons = await reason_codes.load(session, tenant)
    return LoopStats(
        tenant=tenant,
        kind=kind,
        period=PeriodOut(
            first_day=when.first_day,
            last_day=when.last_day,
            time_zone=zone.key,
            window=when.window,
        ),  # fmt: skip
        as_of=now,
        dimension=by,
        total=Figures.model_validate(_figures(found[None])),
        segments=sorted(segments, key=lambda s: (s.value is None, s.value or "")),
        reason_labels={r.code: r.labels for r in reasons.reasons},
    )
