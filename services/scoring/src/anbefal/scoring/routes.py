"""Scoring's read API."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Header, Query
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.auth import Principal, Role
from anbefal.common.deps import SessionDep, TenantPath, allow
from anbefal.common.errors import Unprocessable
from anbefal.scoring import grid, repository, scores
from anbefal.scoring.dependencies import ScoringStateDep
from anbefal.scoring.grid import GRID_HELP, Cell, cells_between
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
    "suppressed_reason", "previous_suppressed_reason",
)  # fmt: skip
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "text/csv": {
                "schema": {"type": "string"},
                "example": ",".join(CSV_COLUMNS) + "\nSupport,false,42,20,12,10,23.81,"
                "-1.2,46.3,10.0,false,,\nIT,true,,,,,,,,,,too_few_answers,\n",
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


WINDOW_HELP = (
    "NPS: `7d`, `30d` (the default), `90d`, `365d`, or `month` and `quarter` so far. eNPS: "
    "`month` (the default) or `quarter`, the current cell of the eNPS grid; any other window "
    "is refused (422 `enps_grid`)"
)
PERIOD_HELP = (
    "A whole cell of the grid in the tenant's time zone: `YYYY-MM` (a calendar month) or "
    "`YYYY-Qn` (a quarter); instead of `window`"
)
RANGE_HELP = "NPS only (eNPS refuses a custom range with 422 `enps_grid`)"
ENPS_GRID_DETAILS = [
    {"field": "window", "allowed": ["month", "quarter"]},
    {"field": "period", "allowed": ["YYYY-MM", "YYYY-Qn"]},
    {"field": "interval", "allowed": ["month", "quarter"]},
]


def _grid_error(why: str) -> Unprocessable:
    return Unprocessable(f"{why}. {GRID_HELP}", code="enps_grid", details=ENPS_GRID_DETAILS)


def _enps_cell(
    window: str | None, period: str | None, first: date | None, last: date | None, today: date
) -> Cell:
    """The eNPS grid cell a request asks for; anything off the grid is refused."""
    if first is not None or last is not None:
        raise _grid_error("eNPS has no custom range")
    if period is not None:
        if window is not None:
            raise Unprocessable("give `window` or `period`, not both", code="invalid_window")
        try:
            return Cell.parse(period)
        except ValueError as exc:
            raise _grid_error(str(exc)) from exc
    if window is None or window == "month":
        return Cell.containing("month", today)
    if window == "quarter":
        return Cell.containing("quarter", today)
    raise _grid_error(f"eNPS has no rolling window {window!r}")


def _nps_range(
    window: str | None, period: str | None, first: date | None, last: date | None, today: date
) -> tuple[date, date, str]:
    if period is not None:
        if window is not None or first is not None or last is not None:
            raise Unprocessable("give `period` alone", code="invalid_window")
        try:
            cell = Cell.parse(period)
        except ValueError as exc:
            raise Unprocessable(str(exc), code="invalid_window") from exc
        return cell.first_day, cell.last_day, cell.name
    name = (window or "30d") if first is None and last is None else "custom"
    first, last = _range(window or "30d", first, last, today)
    return first, last, name


def _grid_segment(row: grid.Row) -> SegmentScore:
    if row.figures is None:
        out = segment_out(row.value, Figures(), suppress=True)
        out.suppressed_reason = row.reason
        return out
    out = segment_out(row.value, row.figures, suppress=False)
    if row.previous is None:
        out.previous_suppressed_reason = row.previous_reason
    else:
        out.previous_nps = None if row.previous.nps is None else round(row.previous.nps, 2)
        out.significant_change = significant_change(row.figures, row.previous)
    return out


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
    changed significantly against the previous period of the same length.

    eNPS figures are cells of a fixed grid (calendar months and quarters in the tenant's time
    zone): `window=month|quarter` (the current cell, the default `month`) or `period=YYYY-MM`
    / `YYYY-Qn`; a rolling window or a custom range is refused (422 `enps_grid`). A hidden
    segment says why (`suppressed_reason`); `previous_nps` is the previous cell's figure where
    that cell shows it, else null with `previous_suppressed_reason`. The current month moves
    only in steps of at least k answers of one group of people; `window.as_of` says when it
    last moved."""
    zone, k = await _tenant(state.settings, session, tenant)
    today = datetime.now(zone).date()
    if kind == "enps":
        cell = _enps_cell(window, period, first, last, today)
        current, previous = await scores.enps_cells(
            session, tenant=tenant, cells=[cell, cell.previous()], k=k
        )
        segments = [_grid_segment(row) for row in grid.rows(current, previous, dimension)]
        shown_window = WindowOut(
            name=period or window or "month",
            first_day=cell.first_day,
            last_day=cell.last_day,
            time_zone=zone.key,
            cell=cell.name,
            closed=cell.last_day < today,
            as_of=current.as_of,
        )
    else:
        first, last, name = _nps_range(window, period, first, last, today)
        shown = await scores.nps_breakdown(
            session, tenant=tenant, dimension=dimension, first=first, last=last
        )
        segments = []
        for value, f in shown.figures.items():
            out = segment_out(value, f, suppress=False)
            before = shown.previous.get(value, Figures())
            out.previous_nps = None if before.nps is None else round(before.nps, 2)
            out.significant_change = significant_change(f, before)
            segments.append(out)
        shown_window = WindowOut(name=name, first_day=first, last_day=last, time_zone=zone.key)
    segments.sort(key=_sort_key(sort))
    body = ScoresOut(
        tenant=tenant, kind=kind, dimension=dimension, window=shown_window, segments=segments
    )
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
    dimension: Annotated[str, Query(max_length=40)] = ALL_DIMENSION,
    value: Annotated[str, Query(max_length=200)] = ALL_VALUE,
) -> TimeseriesOut:
    """NPS per period between `from` and `to`. eNPS points are whole cells of the grid, each
    exactly as the scores API shows that cell (with its suppression): the cells that hold a
    day of `from`..`to`, and `first_day`/`last_day` say which days they cover."""
    zone, k = await _tenant(state.settings, session, tenant)
    first, last = _range("custom", first, last, datetime.now(zone).date())
    points = []
    if kind == "enps":
        if interval not in ("month", "quarter"):
            raise _grid_error(f"eNPS has no {interval} interval")
        cells = cells_between(interval, first, last)
        first, last = cells[0].first_day, cells[-1].last_day
        for view in await scores.enps_cells(session, tenant=tenant, cells=cells, k=k):
            if value not in view.figures.get(dimension, {}):
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
    return TimeseriesOut(
        tenant=tenant, kind=kind, dimension=dimension, value=value, interval=interval,
        first_day=first, last_day=last, time_zone=zone.key, points=points,
    )  # fmt: skip


_POINT_FIELDS = {"suppressed", "n", "promoters", "passives", "detractors", "nps", "interval"}


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
