"""Scoring's read API."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from anbefal.common.deps import PrincipalDep, RuntimeDep, SessionDep, authorize
from anbefal.common.errors import ServiceError
from anbefal.common.events import TENANT_PATTERN
from anbefal.scoring import repository
from anbefal.scoring.models import ALL_DIMENSION
from anbefal.scoring.nps import Figures
from anbefal.scoring.schemas import IntervalOut, ScoresOut, SegmentScore, WindowOut
from anbefal.scoring.settings import ScoringSettings
from anbefal.scoring.windows import WINDOW_PATTERN, window_days

router = APIRouter(tags=["scores"])
READERS = {"admin", "director", "viewer", "agent", "ops"}


def segment_out(value: str, figures: Figures, *, suppress: bool) -> SegmentScore:
    if suppress:
        return SegmentScore(
            value=value, suppressed=True, n=None, promoters=None, passives=None,
            detractors=None, nps=None, interval=None,
        )  # fmt: skip
    interval = figures.interval()
    return SegmentScore(
        value=value,
        n=figures.n,
        promoters=figures.promoters,
        passives=figures.passives,
        detractors=figures.detractors,
        nps=None if figures.nps is None else round(figures.nps, 2),
        interval=None
        if interval is None
        else IntervalOut(low=round(interval.low, 2), high=round(interval.high, 2)),
    )


@router.get(
    "/v1/tenants/{tenant}/scores", response_model=ScoresOut, summary="NPS or eNPS per segment"
)
async def get_scores(
    tenant: Annotated[str, Path(pattern=TENANT_PATTERN)],
    principal: PrincipalDep,
    session: SessionDep,
    runtime: RuntimeDep,
    kind: Literal["nps", "enps"] = "nps",
    window: Annotated[
        str, Query(pattern=WINDOW_PATTERN, description="`30d`, `month`, `quarter`")
    ] = "30d",
    dimension: Annotated[
        str, Query(max_length=40, description="`all`, or a segment such as `department`")
    ] = ALL_DIMENSION,
    sort: Literal["nps", "detractors", "n", "value"] = "nps",
) -> ScoresOut:
    authorize(principal, tenant, READERS)
    settings = runtime.settings
    assert isinstance(settings, ScoringSettings)
    zone, k = await repository.get_tenant_zone(
        session, tenant, settings.default_time_zone, settings.default_anonymity_k
    )
    try:
        first, last = window_days(window, datetime.now(zone).date())
    except ValueError as exc:
        raise ServiceError(422, "invalid_window", str(exc)) from exc
    figures = await repository.segment_figures(
        session, tenant=tenant, kind=kind, dimension=dimension, first=first, last=last
    )
    segments = [
        segment_out(value, f, suppress=kind == "enps" and f.n < k) for value, f in figures.items()
    ]
    segments.sort(key=_sort_key(sort))
    return ScoresOut(
        tenant=tenant,
        kind=kind,
        dimension=dimension,
        window=WindowOut(name=window, first_day=first, last_day=last, time_zone=zone.key),
        segments=segments,
    )


def _sort_key(sort: str) -> Callable[[SegmentScore], tuple[bool, float, str]]:
    def key(s: SegmentScore) -> tuple[bool, float, str]:
        if sort == "value":
            return (False, 0.0, s.value)
        if s.suppressed or s.n is None:
            return (True, 0.0, s.value)  # suppressed segments last
        if sort == "detractors":
            return (False, -(s.detractors or 0) / max(s.n, 1), s.value)
        if sort == "n":
            return (False, -float(s.n), s.value)
        return (False, -(s.nps or 0.0), s.value)

    return key
