"""The filters the answers and themes APIs share: the query parameters (`FiltersDep`) and
what they resolve to in the tenant's zone, inside the reader's scope, with the eNPS rules
decided (`resolve`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.auth import Principal
from anbefal.common.nps import Category
from anbefal.scoring import repository as scoring_repository
from anbefal.scoring import scores
from anbefal.scoring.answers_api.enps import hidden_reason
from anbefal.scoring.answers_api.query import AnswerQuery, Kind, period_of
from anbefal.scoring.answers_api.schemas import PeriodOut
from anbefal.scoring.grid import CellView, Reason
from anbefal.scoring.scores_api.request import grid_error, reader_filter
from anbefal.scoring.segment_filter import FILTER_HELP as SEGMENT_FILTER_HELP
from anbefal.scoring.segment_filter import SegmentFilter
from anbefal.scoring.settings import ScoringSettings
from anbefal.scoring.windows import WINDOW_PATTERN

WINDOW_HELP = (
    "NPS: `7d`, `30d` (the default), `90d`, ..., `month` or `quarter` so far. eNPS: `month` "
    "(the default) or `quarter`, the current cell of the eNPS grid"
)
FILTER_HELP = f"{SEGMENT_FILTER_HELP}. eNPS: one segment value at most"


@dataclass(frozen=True)
class Filters:
    """The query parameters the answers and the themes APIs share."""

    kind: Kind
    window: str | None
    period: str | None
    first: date | None
    last: date | None
    filter: list[str]
    category: Category | None
    has_comment: bool | None
    q: str | None


def filters(
    kind: Annotated[Kind, Query(description="`nps` (customers) or `enps` (employees)")] = "nps",
    window: Annotated[str | None, Query(pattern=WINDOW_PATTERN, description=WINDOW_HELP)] = None,
    period: Annotated[
        str | None, Query(max_length=7, description="A grid cell: `YYYY-MM` or `YYYY-Qn`")
    ] = None,
    first: Annotated[
        date | None, Query(alias="from", description="NPS only: first day (tenant's zone)")
    ] = None,
    last: Annotated[
        date | None, Query(alias="to", description="NPS only: last day, inclusive")
    ] = None,
    filter: Annotated[list[str] | None, Query(description=FILTER_HELP)] = None,
    category: Annotated[
        Category | None, Query(description="promoter, passive or detractor")
    ] = None,
    has_comment: Annotated[
        bool | None, Query(description="NPS: with or without a comment (eNPS: comments only)")
    ] = None,
    q: Annotated[
        str | None,
        Query(min_length=1, max_length=200, description="Free text in the comment, any case"),
    ] = None,
) -> Filters:
    return Filters(kind, window, period, first, last, filter or [], category, has_comment, q)


FiltersDep = Annotated[Filters, Depends(filters)]


@dataclass(frozen=True)
class Resolved:
    query: AnswerQuery
    zone: ZoneInfo
    k: int
    hidden: Reason | None  # eNPS: the grid hides this group
    period: PeriodOut
    view: CellView | None = None  # eNPS: the cell as this reader sees it

    @property
    def filter_items(self) -> list[str]:
        """The segment values read (`dimension:value`), the reader's scope included."""
        return [f"{d}:{v}" for d, values in self.query.segments.pairs for v in values]


async def resolve(
    f: Filters, tenant: str, principal: Principal, session: AsyncSession, settings: ScoringSettings
) -> Resolved:
    """The filters as a query in the tenant's zone, inside the reader's scope (403 outside
    it), with the eNPS rules decided."""
    zone, k = await scoring_repository.get_tenant_zone(
        session, tenant, settings.default_time_zone, settings.default_anonymity_k
    )
    period = period_of(f.kind, f.window, f.period, f.first, f.last, datetime.now(zone).date())
    if f.kind == "enps" and f.has_comment is False:
        raise grid_error("eNPS answers are listed only as comments")
    segments = reader_filter(principal, f.filter)
    query = AnswerQuery(tenant, f.kind, period, segments, f.category, f.has_comment, f.q)
    hidden: Reason | None = None
    view: CellView | None = None
    if period.cell is not None:
        # A team lead's view of the cell is their scope's (its total is the scope's people).
        scope = principal.scope
        (view,) = await scores.enps_cells(
            session, tenant=tenant, cells=[period.cell], k=k, scope=scope
        )
        beyond = SegmentFilter(tuple(p for p in segments.pairs if p[0] not in dict(scope)))
        hidden = hidden_reason(view, beyond, f.category, k)
    out = PeriodOut(
        name=period.name, first_day=period.first_day, last_day=period.last_day,
        time_zone=zone.key, cell=None if period.cell is None else period.cell.name,
    )  # fmt: skip
    return Resolved(query, zone, k, hidden, out, view)
