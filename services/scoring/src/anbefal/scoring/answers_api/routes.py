"""`GET /v1/tenants/{t}/answers`: a tenant's answers and comments, filtered and paginated."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request

from anbefal.common.deps import SessionDep, TenantPath
from anbefal.common.nps import category
from anbefal.scoring.answers_api import repository
from anbefal.scoring.answers_api.query import Cursor
from anbefal.scoring.answers_api.request import FiltersDep, resolve
from anbefal.scoring.answers_api.schemas import AnswerOut, AnswersOut, RespondentOut
from anbefal.scoring.dependencies import Reader, ScoringStateDep
from anbefal.scoring.models import Answer

router = APIRouter(tags=["answers"])


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
    resolved = await resolve(f, tenant, principal, session, state.settings)
    after = None if cursor is None else Cursor.decode(cursor, f.kind)
    period = resolved.period
    body = AnswersOut(
        tenant=tenant, kind=f.kind, period=period,
        filter=resolved.filter_items,
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
