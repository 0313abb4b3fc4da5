"""Scoring's read API."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Header, Query
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.auth import Principal, Role
from anbefal.common.deps import SessionDep, TenantPath, allow
from anbefal.common.errors import Unprocessable
from anbefal.scoring import repository, scores
from anbefal.scoring.dependencies import ScoringStateDep
from anbefal.scoring.models import ALL_DIMENSION, ALL_VALUE
from anbefal.scoring.nps import Figures, significant_change
from anbefal.scoring.schemas import (
    IntervalOut,
    ScoresOut,
    SegmentScore,
    TimeseriesOut,
    TimeseriesPoint,
    WindowOut,
)
from anbefal.scoring.settings import ScoringSettings
from anbefal.scoring.windows import WINDOW_PATTERN, window_days

router = APIRouter(tags=["scores"])
READERS = (Role.ADMIN, Role.DIRECTOR, Role.VIEWER, Role.AGENT, Role.OPS)
Reader = Annotated[Principal, allow(*READERS)]


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


Kind = Literal["nps", "enps"]
DAY_LIMIT = 3 * 366  # a bound on how much one request may scan


def _range(window: str, first: date | None, last: date | None, today: date) -> tuple[date, date]:
    if first is not None or last is not None:
        if first is None or last is None:
            raise Unprocessable("give both `from` and `to`, or neither", code="invalid_range")
        if first > last:
            raise Unprocessable("`from` is after `to`", code="invalid_range")
    else:
        try:
            first, last = window_days(window, today)
        except ValueError as exc:
            raise Unprocessable(str(exc), code="invalid_window") from exc
    if (last - first).days >= DAY_LIMIT:
        raise Unprocessable(f"a range may span at most {DAY_LIMIT} days", code="invalid_range")
    return first, last


async def _tenant(
    settings: ScoringSettings, session: AsyncSession, tenant: str
) -> tuple[ZoneInfo, int]:
    return await repository.get_tenant_zone(
        session, tenant, settings.default_time_zone, settings.default_anonymity_k
    )


CSV_COLUMNS = (
    "value", "suppressed", "n", "promoters", "passives", "detractors", "nps",
    "interval_low", "interval_high", "previous_nps", "significant_change",
)  # fmt: skip
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "text/csv": {
                "schema": {"type": "string"},
                "example": ",".join(CSV_COLUMNS) + "\nSupport,false,42,20,12,10,23.81,"
                "-1.2,46.3,10.0,false\nIT,true,,,,,,,,,\n",
            }
        },
        "description": "JSON by default; CSV with `format=csv` or `Accept: text/csv`, one "
        "row per segment, with the same suppression (a hidden eNPS segment has empty cells).",
    }
}


# A cell starting with one of these is a formula to a spreadsheet; segment values come from
# respondents' answers, so such a value is written with a leading apostrophe (shown as text).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """`value` as a CSV cell no spreadsheet runs as a formula (numbers stay numbers)."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def scores_csv(body: ScoresOut) -> Response:
    out = io.StringIO()
    # CRLF (RFC 4180): a cell holding a CR or LF is then quoted, not split into two rows.
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for s in body.segments:
        row = s.model_dump()
        interval = s.interval
        row["interval_low"] = None if interval is None else interval.low
        row["interval_high"] = None if interval is None else interval.high
        writer.writerow(
            ""
            if row[c] is None
            else str(row[c]).lower()
            if isinstance(row[c], bool)
            else spreadsheet_safe(row[c])
            for c in CSV_COLUMNS
        )
    window = body.window
    name = f"{body.tenant}-{body.kind}-{body.dimension}-{window.first_day}-{window.last_day}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(
    "/v1/tenants/{tenant}/scores",
    response_model=ScoresOut,
    summary="NPS or eNPS per segment (JSON or CSV)",
    responses=CSV_RESPONSE,
)
async def get_scores(
    tenant: TenantPath,
    principal: Reader,
    session: SessionDep,
    state: ScoringStateDep,
    kind: Kind = "nps",
    window: Annotated[
        str,
        Query(pattern=WINDOW_PATTERN, description="`7d`, `30d`, `90d`, `365d`, `month`, `quarter`"),
    ] = "30d",
    first: Annotated[date | None, Query(alias="from", description="Custom range start")] = None,
    last: Annotated[
        date | None, Query(alias="to", description="Custom range end (inclusive)")
    ] = None,
    dimension: Annotated[
        str, Query(max_length=40, description="`all`, or a segment such as `department`")
    ] = ALL_DIMENSION,
    sort: Literal["nps", "detractors", "n", "value"] = "nps",
    format: Annotated[
        Literal["json", "csv"] | None,
        Query(description="`csv` for a CSV export; `Accept: text/csv` does the same"),
    ] = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> ScoresOut | Response:
    """Every figure has n, the counts, NPS, its 95% adjusted-Wald interval, and whether it
    changed significantly against the previous period of the same length. eNPS breakdowns hide
    any figure that would describe fewer than the tenant's k people, directly or by subtraction
    (within the dimension, against the tenant total, and against other dimensions' segments);
    eNPS figures move only after at least k new answers in a segment."""
    zone, k = await _tenant(state.settings, session, tenant)
    window_name = window if first is None and last is None else "custom"
    first, last = _range(window, first, last, datetime.now(zone).date())
    shown = await scores.breakdown(
        session, tenant=tenant, kind=kind, dimension=dimension, first=first, last=last, k=k
    )
    segments = []
    for value, f in shown.figures.items():
        out = segment_out(value, f, suppress=shown.hides(value, f))
        before = shown.previous.get(value, Figures())
        # A previous eNPS figure below k is as identifying as a current one.
        if not out.suppressed and not shown.hides(value, before):
            out.previous_nps = None if before.nps is None else round(before.nps, 2)
            out.significant_change = significant_change(f, before)
        segments.append(out)
    segments.sort(key=_sort_key(sort))
    body = ScoresOut(
        tenant=tenant,
        kind=kind,
        dimension=dimension,
        window=WindowOut(
            name=window_name,
            first_day=first,
            last_day=last,
            time_zone=zone.key,
        ),
        segments=segments,
    )
    wants_csv = format == "csv" or (format is None and "text/csv" in (accept or ""))
    return scores_csv(body) if wants_csv else body


@router.get(
    "/v1/tenants/{tenant}/scores/timeseries",
    response_model=TimeseriesOut,
    summary="NPS or eNPS of one segment per day, week or month",
)
async def get_timeseries(
    tenant: TenantPath,
    principal: Reader,
    session: SessionDep,
    state: ScoringStateDep,
    first: Annotated[date, Query(alias="from")],
    last: Annotated[date, Query(alias="to")],
    kind: Kind = "nps",
    interval: Literal["day", "week", "month"] = "week",
    dimension: Annotated[str, Query(max_length=40)] = ALL_DIMENSION,
    value: Annotated[str, Query(max_length=200)] = ALL_VALUE,
) -> TimeseriesOut:
    zone, k = await _tenant(state.settings, session, tenant)
    first, last = _range("custom", first, last, datetime.now(zone).date())
    series = await repository.timeseries(
        session, tenant=tenant, kind=kind, dimension=dimension, value=value,
        first=first, last=last, interval=interval,
    )  # fmt: skip
    points = []
    for start, f in series:
        suppress = False
        if kind == "enps":
            # A point is a figure of its period: it is shown only where that period's
            # breakdown of the dimension shows the segment (so no point undoes the breakdown's
            # complementary or cross-dimension hiding).
            shown = await scores.breakdown(
                session, tenant=tenant, kind=kind, dimension=dimension,
                first=max(start, first), last=min(_period_end(start, interval), last), k=k,
            )  # fmt: skip
            suppress = shown.hides(value, f)
        seg = segment_out(value, f, suppress=suppress)
        points.append(
            TimeseriesPoint(
                period_start=start,
                **seg.model_dump(exclude={"value", "previous_nps", "significant_change"}),
            )
        )
    return TimeseriesOut(
        tenant=tenant, kind=kind, dimension=dimension, value=value, interval=interval,
        first_day=first, last_day=last, time_zone=zone.key, points=points,
    )  # fmt: skip


def _period_end(start: date, interval: str) -> date:
    if interval == "day":
        return start
    if interval == "week":
        return start + timedelta(days=6)
    following = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return following - timedelta(days=1)


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
