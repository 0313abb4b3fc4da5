"""Scoring's read API: the scores per segment and their timeseries (the request's parts are
in `scores_api/`)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Header, Query
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.deps import SessionDep, TenantPath
from anbefal.common.errors import Unprocessable
from anbefal.scoring import answer_figures, grid, repository, scores
from anbefal.scoring.dependencies import Reader, ScoringStateDep
from anbefal.scoring.grid import cells_between
from anbefal.scoring.models import ALL_DIMENSION, ALL_VALUE
from anbefal.scoring.nps import Figures
from anbefal.scoring.schemas import ScoresOut, TimeseriesOut, TimeseriesPoint, WindowOut
from anbefal.scoring.scores_api import request
from anbefal.scoring.scores_api.output import (
    CSV_RESPONSE,
    grid_segment,
    nps_segment,
    scores_csv,
    segment_out,
    sort_key,
)
from anbefal.scoring.segment_filter import FILTER_HELP, SegmentFilter
from anbefal.scoring.settings import ScoringSettings
from anbefal.scoring.windows import WINDOW_PATTERN

router = APIRouter(tags=["scores"])
Kind = Literal["nps", "enps"]


async def _tenant(
    settings: ScoringSettings, session: AsyncSession, tenant: str
) -> tuple[ZoneInfo, int]:
    return await repository.get_tenant_zone(
        session, tenant, settings.default_time_zone, settings.default_anonymity_k
    )


WINDOW_HELP = (
    "NPS: a rolling window `7d`, `30d` (the default), `90d`, `365d` (compared with the window of "
    "the same length before it), or `month`, `quarter`, `year` to date in the tenant's time "
    "zone (compared with the whole previous month, quarter or year). eNPS: `month` (the "
    "default) or `quarter`, the current cell of the eNPS grid; any other window is refused "
    "(422 `enps_grid`)"
)
PERIOD_HELP = (
    "A whole calendar month `YYYY-MM` or quarter `YYYY-Qn` in the tenant's time zone, compared "
    "with the whole one before it; instead of `window`"
)
RANGE_HELP = (
    "NPS only, compared with the days of the same number just before (eNPS refuses a custom "
    "range with 422 `enps_grid`)"
)
DIMENSION_HELP = (
    "`all`, or a segment such as `department`; a dimension the tenant's answers never had is "
    "refused (422 `unknown_dimension`, naming the known ones)"
)
SCOPE_HELP = (
    " A reader whose token carries a scope (a team lead) gets figures of the answers inside it "
    "only, and 403 `outside_scope` for a filter or segment outside it."
)
FilterQuery = Annotated[
    list[str],
    Query(
        alias="filter",
        max_length=20,
        description=f"NPS: {FILTER_HELP}. eNPS refuses a filter (422 `enps_filter`): its "
        "figures are whole grid cells by one dimension at a time",
    ),
]


def _refuse_enps_filter(kind: str, items: list[str]) -> None:
    if kind == "enps" and items:
        raise Unprocessable(
            "eNPS figures are broken down by one dimension at a time: an intersection of two "
            "segments, set beside the segments shown, could single out fewer than k people. "
            "Read one dimension's breakdown instead",
            code="enps_filter",
            details=[{"field": "filter"}],
        )


def _filter_names(where: SegmentFilter) -> list[str]:
    return [f"{d}:{v}" for d, values in where.pairs for v in values]


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
    kind: Annotated[
        Kind, Query(description="`nps` (customers) or `enps` (employees: grid cells only)")
    ] = "nps",
    window: Annotated[str | None, Query(pattern=WINDOW_PATTERN, description=WINDOW_HELP)] = None,
    period: Annotated[str | None, Query(max_length=7, description=PERIOD_HELP)] = None,
    first: Annotated[
        date | None, Query(alias="from", description=f"Custom range start; {RANGE_HELP}")
    ] = None,
    last: Annotated[
        date | None, Query(alias="to", description=f"Custom range end (inclusive); {RANGE_HELP}")
    ] = None,
    dimension: Annotated[str, Query(max_length=40, description=DIMENSION_HELP)] = ALL_DIMENSION,
    filters: FilterQuery = [],  # noqa: B006 (FastAPI copies a query default)
    sort: Literal["nps", "detractors", "n", "value"] = "nps",
    format: Annotated[
        Literal["json", "csv"] | None,
        Query(description="`csv` for a CSV export; `Accept: text/csv` does the same"),
    ] = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> ScoresOut | Response:
    """Every figure has n, the counts, NPS, its 95% adjusted-Wald interval, and its comparison
    with the previous period: that period's first and last day, n, NPS, the change in points
    and whether it is significant.

    eNPS figures are cells of a fixed grid (calendar months and quarters in the tenant's time
    zone): `window=month|quarter` (the current cell, the default `month`) or `period=YYYY-MM`
    / `YYYY-Qn`; a rolling window or a custom range is refused (422 `enps_grid`). A hidden
    segment is listed with `suppressed: true`, no counts, and `suppressed_reason`: `too_few`
    (fewer than k people), `protects_other_segment` (it would give a hidden one away by
    subtraction) or `awaiting_changes` (people answered, but not yet k changes); a segment
    nobody answered is not listed. `previous_nps` is the previous cell's figure where that cell
    shows it, else null with `previous_suppressed_reason`. The current month moves only in
    steps of at least k answers of one group of people; `as_of` says when it last moved."""
    _refuse_enps_filter(kind, filters)
    where = request.reader_filter(principal, filters)
    zone, k = await _tenant(state.settings, session, tenant)
    today = datetime.now(zone).date()
    if kind == "enps":
        cell = request.enps_cell(window, period, first, last, today)
        days = request.cell_window(cell, period or window or "month")
        current, previous = await scores.enps_cells(
            session, tenant=tenant, cells=[cell, cell.previous()], k=k, scope=principal.scope
        )
        segments = [grid_segment(row, days) for row in grid.rows(current, previous, dimension)]
        as_of = current.as_of
        cell_fields = {"cell": cell.name, "closed": cell.last_day < today, "as_of": as_of}
    else:
        days = request.nps_window(window, period, first, last, today)
        as_of = datetime.now(UTC)
        shown = await scores.nps_breakdown(
            session, tenant=tenant, dimension=dimension, window=days, where=where
        )
        segments = [
            nps_segment(value, f, shown.previous.get(value, Figures()), days)
            for value, f in shown.figures.items()
        ]
        cell_fields = {}
    if not segments and dimension != ALL_DIMENSION:
        await request.check_dimension(session, tenant, dimension)
    segments.sort(key=sort_key(sort))
    shown_window = WindowOut(
        name=days.name, first_day=days.first, last_day=days.last, time_zone=zone.key,
        previous_first_day=days.previous_first, previous_last_day=days.previous_last,
        **cell_fields,
    )  # fmt: skip
    body = ScoresOut(
        tenant=tenant, kind=kind, dimension=dimension, window=shown_window, as_of=as_of,
        filters=_filter_names(where), segments=segments,
    )  # fmt: skip
    wants_csv = format == "csv" or (format is None and "text/csv" in (accept or ""))
    return scores_csv(body) if wants_csv else body


@router.get(
    "/v1/tenants/{tenant}/scores/timeseries",
    response_model=TimeseriesOut,
    summary="NPS or eNPS of one segment per day, week, month or quarter",
)
async def get_timeseries(
    tenant: TenantPath,
    principal: Reader,
    session: SessionDep,
    state: ScoringStateDep,
    first: Annotated[
        date, Query(alias="from", description="First day (eNPS: from the cell that holds it)")
    ],
    last: Annotated[
        date, Query(alias="to", description="Last day (eNPS: to the end of the cell holding it)")
    ],
    kind: Annotated[
        Kind, Query(description="`nps` (customers) or `enps` (employees: grid cells only)")
    ] = "nps",
    interval: Annotated[
        Literal["day", "week", "month", "quarter"],
        Query(description="eNPS: `month` or `quarter` only (422 `enps_grid` otherwise)"),
    ] = "week",
    dimension: Annotated[str, Query(max_length=40, description=DIMENSION_HELP)] = ALL_DIMENSION,
    value: Annotated[str, Query(max_length=200)] = ALL_VALUE,
    filters: FilterQuery = [],  # noqa: B006 (FastAPI copies a query default)
) -> TimeseriesOut:
    """NPS per period between `from` and `to`. eNPS points are whole cells of the grid, each
    exactly as the scores API shows that cell (with its suppression and its reason): the
    cells that hold a day of `from`..`to`, and `first_day`/`last_day` say which days they
    cover."""
    _refuse_enps_filter(kind, filters)
    where = request.reader_filter(principal, filters)
    series_where = request.reader_filter(
        principal, [*filters, *request.segment_item(dimension, value)]
    )
    zone, k = await _tenant(state.settings, session, tenant)
    first, last = request.checked_range(first, last)
    points = []
    if kind == "enps":
        if interval not in ("month", "quarter"):
            raise request.grid_error(f"eNPS has no {interval} interval")
        cells = cells_between(interval, first, last)
        first, last = cells[0].first_day, cells[-1].last_day
        views = await scores.enps_cells(
            session, tenant=tenant, cells=cells, k=k, scope=principal.scope
        )
        for view in views:
            if value not in view.values(dimension):
                continue
            figures = view.shown(dimension, value)
            seg = segment_out(value, figures or Figures(), suppress=figures is None)
            points.append(
                TimeseriesPoint(
                    period_start=view.cell.first_day,
                    cell=view.cell.name,
                    suppressed_reason=view.reason(dimension, value),
                    **seg.model_dump(include=_POINT_FIELDS),
                )
            )
        as_of = max((v.as_of for v in views if v.as_of is not None), default=None)
    else:
        as_of = datetime.now(UTC)
        if series_where:
            series = await answer_figures.series(
                session, tenant=tenant, kind=kind, first=first, last=last, interval=interval,
                where=series_where,
            )  # fmt: skip
        else:
            series = await repository.timeseries(
                session, tenant=tenant, kind=kind, dimension=dimension, value=value,
                first=first, last=last, interval=interval,
            )  # fmt: skip
        for start, f in series:
            seg = segment_out(value, f, suppress=False)
            points.append(
                TimeseriesPoint(period_start=start, **seg.model_dump(include=_POINT_FIELDS))
            )
    if not points and dimension != ALL_DIMENSION:
        await request.check_dimension(session, tenant, dimension)
    return TimeseriesOut(
        tenant=tenant, kind=kind, dimension=dimension, value=value, interval=interval,
        first_day=first, last_day=last, time_zone=zone.key, as_of=as_of,
        filters=_filter_names(where), points=points,
    )  # fmt: skip


_POINT_FIELDS = {"suppressed", "n", "promoters", "passives", "detractors", "nps", "interval"}
