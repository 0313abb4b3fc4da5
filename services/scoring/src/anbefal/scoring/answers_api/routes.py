"""`GET /v1/tenants/{t}/answers`: a tenant's answers and comments, filtered and paginated."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.auth import Principal
from anbefal.common.deps import SessionDep, TenantPath
from anbefal.common.nps import Category, category
from anbefal.scoring import repository as scoring_repository
from anbefal.scoring import scores
from anbefal.scoring.answers_api import repository
from anbefal.scoring.answers_api.enps import hidden_reason
from anbefal.scoring.answers_api.query import AnswerQuery, Cursor, Kind, period_of
from anbefal.scoring.answers_api.schemas import AnswerOut, AnswersOut, PeriodOut, RespondentOut
from anbefal.scoring.dependencies import Reader, ScoringStateDep
from anbefal.scoring.grid import Reason
from anbefal.scoring.models import Answer
from anbefal.scoring.scores_api.request import grid_error, reader_filter
from anbefal.scoring.segment_filter import FILTER_HELP as SEGMENT_FILTER_HELP
from anbefal.scoring.segment_filter import SegmentFilter
from anbefal.scoring.windows import WINDOW_PATTERN

router = APIRouter(tags=["answers"])

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


async def resolve(
    f: Filters, tenant: str, principal: Principal, session: AsyncSession, state: ScoringStateDep
) -> Resolved:
    """The filters as a query in the tenant's zone, inside the reader's scope (403 outside
    it), with the eNPS rules decided."""
    settings = state.settings
    zone, k = await scoring_repository.get_tenant_zone(
        session, tenant, settings.default_time_zone, settings.default_anonymity_k
    )
    period = period_of(f.kind, f.window, f.period, f.first, f.last, datetime.now(zone).date())
    if f.kind == "enps" and f.has_comment is False:
        raise grid_error("eNPS answers are listed only as comments")
    segments = reader_filter(principal, f.filter)
    query = AnswerQuery(tenant, f.kind, period, segments, f.category, f.has_comment, f.q)
    hidden: Reason | None = None
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
    return Resolved(query, zone, k, hidden, out)


def answer_out(a: Answer, zone: ZoneInfo, cell: str | None) -> AnswerOut:
    if a.kind == "enps":
        return AnswerOut(
            id=str(a.event_id), kind=a.kind, comment=a.comment, score=None, category=None,
            day=None, answered_at=None, period=cell, segments=None, respondent=None,
        )  # fmt: skip
    return AnswerOut(
        id=str(a.event_id), kind=a.kind, comment=a.comment, score=a.score,
        category=category(a.score), day=a.day, answered_at=a.answered_at.astimezone(zone),
        segments=a.segments,
        respondent=RespondentOut(
            key=a.respondent_key, name=a.respondent_name, account_id=a.account_id
        ),
    )  # fmt: skip


@router.get(
    "/v1/tenants/{tenant}/answers",
    response_model=AnswersOut,
    summary="Answers and their comments, filtered, newest first, a page at a time",
)
async def list_answers(
    tenant: TenantPath,
    principal: Reader,
    session: SessionDep,
    state: ScoringStateDep,
    request: Request,
    f: FiltersDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200, description="`next` of a page")] = None,
) -> AnswersOut:
    """NPS answers carry the score, the day and time in the tenant's zone, the segments and the
    respondent's key, name and account (never contact details). eNPS answers are comments only,
    shown only where the eNPS grid shows the figure of the same people (one cell, the total or
    one segment of one dimension; a category only where it counts k people), with no score,
    identity or segments, dated by the cell; elsewhere `suppressed_reason` says why none are.
    A reader with a scope sees only answers inside it."""
    resolved = await resolve(f, tenant, principal, session, state)
    after = None if cursor is None else Cursor.decode(cursor, f.kind)
    period = resolved.period
    body = AnswersOut(
        tenant=tenant, kind=f.kind, period=period,
        filter=[f"{d}:{v}" for d, values in resolved.query.segments.pairs for v in values],
        total=0, suppressed_reason=resolved.hidden, answers=[], next=None,
    )  # fmt: skip
    if resolved.hidden is not None:
        return body
    q = resolved.query
    rows = await repository.page(session, q, after, limit + 1)
    body.total = await repository.count(session, q)
    body.answers = [answer_out(a, resolved.zone, period.cell) for a in rows[:limit]]
    if len(rows) > limit:
        last = rows[limit - 1]
        at = None if f.kind == "enps" else last.answered_at
        body.next = Cursor(last.event_id, at).encode()
        body.next_url = str(request.url.include_query_params(cursor=body.next)).removeprefix(
            str(request.base_url).rstrip("/")
        )
    return body
