"""What a scores or timeseries request asks for: its days (and the period they are compared
with), its eNPS grid cell, its segment filter inside the reader's scope, and whether the
dimension exists at all."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.auth import Principal
from anbefal.common.errors import Forbidden, Unprocessable
from anbefal.scoring import repository
from anbefal.scoring.grid import GRID_HELP, Cell
from anbefal.scoring.models import ALL_DIMENSION
from anbefal.scoring.segment_filter import OutOfScope, SegmentFilter
from anbefal.scoring.windows import Window, custom, whole, window

DAY_LIMIT = 3 * 366  # a bound on how much one request may scan
ENPS_GRID_DETAILS = [
    {"field": "window", "allowed": ["month", "quarter"]},
    {"field": "period", "allowed": ["YYYY-MM", "YYYY-Qn"]},
    {"field": "interval", "allowed": ["month", "quarter"]},
]


def checked_range(first: date | None, last: date | None) -> tuple[date, date]:
    """A custom range: both ends, in order, at most DAY_LIMIT days."""
    if first is None or last is None:
        raise Unprocessable("give both `from` and `to`, or neither", code="invalid_range")
    if first > last:
        raise Unprocessable("`from` is after `to`", code="invalid_range")
    if (last - first).days >= DAY_LIMIT:
        raise Unprocessable(f"a range may span at most {DAY_LIMIT} days", code="invalid_range")
    return first, last


def grid_error(why: str) -> Unprocessable:
    return Unprocessable(f"{why}. {GRID_HELP}", code="enps_grid", details=ENPS_GRID_DETAILS)


def enps_cell(
    name: str | None, period: str | None, first: date | None, last: date | None, today: date
) -> Cell:
    """The eNPS grid cell a request asks for; anything off the grid is refused."""
    if first is not None or last is not None:
        raise grid_error("eNPS has no custom range")
    if period is not None:
        if name is not None:
            raise Unprocessable("give `window` or `period`, not both", code="invalid_window")
        try:
            return Cell.parse(period)
        except ValueError as exc:
            raise grid_error(str(exc)) from exc
    if name is None or name == "month":
        return Cell.containing("month", today)
    if name == "quarter":
        return Cell.containing("quarter", today)
    raise grid_error(f"eNPS has no window {name!r}")


def cell_window(cell: Cell, name: str) -> Window:
    return whole(name, cell.first_day, cell.last_day, cell.previous().first_day)


def nps_window(
    name: str | None, period: str | None, first: date | None, last: date | None, today: date
) -> Window:
    """The days an NPS request asks for and the period they are compared with."""
    if period is not None:
        if name is not None or first is not None or last is not None:
            raise Unprocessable("give `period` alone", code="invalid_window")
        try:
            return cell_window(Cell.parse(period), period)
        except ValueError as exc:
            raise Unprocessable(str(exc), code="invalid_window") from exc
    if first is not None or last is not None:
        return custom(*checked_range(first, last))
    try:
        return window(name or "30d", today)
    except ValueError as exc:
        raise Unprocessable(str(exc), code="invalid_window") from exc


def reader_filter(principal: Principal, items: Sequence[str]) -> SegmentFilter:
    """The request's `filter` items inside the reader's scope: 422 for an item that is not
    `dimension:value`, 403 for a value outside the scope."""
    try:
        asked = SegmentFilter.parse(items)
    except ValueError as exc:
        raise Unprocessable(str(exc), code="invalid_filter", details=[{"field": "filter"}]) from exc
    try:
        return asked.within(principal.scope)
    except OutOfScope as exc:
        raise Forbidden(str(exc), code="outside_scope") from exc


def segment_item(dimension: str, value: str) -> list[str]:
    """A timeseries' one segment as a filter item (none for the tenant total)."""
    return [] if dimension == ALL_DIMENSION else [f"{dimension}:{value}"]


async def check_dimension(session: AsyncSession, tenant: str, dimension: str) -> None:
    """An empty answer for a dimension the tenant's answers never had is a typo, not "no data":
    422 naming the dimensions there are."""
    known = await repository.known_dimensions(session, tenant)
    if dimension not in known:
        raise Unprocessable(
            f"the tenant's answers have no dimension {dimension!r}; "
            f"known dimensions: {', '.join(d for d in known if d != ALL_DIMENSION)} (or `all`)",
            code="unknown_dimension",
            details=[{"field": "dimension", "allowed": known}],
        )
