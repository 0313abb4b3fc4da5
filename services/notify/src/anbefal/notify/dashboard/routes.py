"""The dashboard page: NPS and eNPS now, their trends, and one dimension's segments, for
directors, admins and viewers (a team lead sees their scope only: the APIs apply it).

It reads scoring's API as the logged-in person (`client.py`); the segment table's CSV is the
scores API's own CSV, passed through.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.auth import Principal, Role
from anbefal.common.deps import SessionDep
from anbefal.notify import localtime
from anbefal.notify.dashboard import insights, service
from anbefal.notify.dashboard.client import Apis, Refused, Unavailable
from anbefal.notify.dashboard.words import dashboard_words, day, number
from anbefal.notify.dependencies import NotifyStateDep
from anbefal.notify.settings import NotifySettings
from anbefal.notify.staff.sessions import Login
from anbefal.notify.ui import guard
from anbefal.notify.ui.pages import LOCALE_COOKIE, render, to_login

router = APIRouter(include_in_schema=False)
READERS = frozenset({Role.DIRECTOR, Role.ADMIN, Role.VIEWER})


def may_read(principal: Principal) -> bool:
    return principal.role in READERS


def scope_words(principal: Principal) -> str:
    return ", ".join(f"{dimension} = {value}" for dimension, value in principal.scope)


Text = Annotated[str, Query(max_length=40)]


def _choices(
    kind: Text = "nps",
    window: Text = "30d",
    dimension: Text = "department",
    sort: Text = "nps",
    only: Annotated[str, Query(alias="filter", max_length=240)] = "",
) -> service.Query:
    return service.Query.of(kind, window, dimension, sort, only)


Choices = Annotated[service.Query, Depends(_choices)]


@dataclass(frozen=True)
class Reading:
    """A request of the dashboard: who asks (or the page to send instead), and what for."""

    login: Login | Response
    settings: NotifySettings
    query: service.Query
    session: AsyncSession


async def _reading(
    request: Request, session: SessionDep, state: NotifyStateDep, query: Choices
) -> Reading:
    login = await guard.logged_in(request, session)
    if login is None:
        return Reading(to_login(), state.settings, query, session)
    if not may_read(login.principal):
        words = dashboard_words(request.cookies.get(LOCALE_COOKIE))
        refused = render(request, "refused.html", 403, login=login, error=words["forbidden"])
        return Reading(refused, state.settings, query, session)
    return Reading(login, state.settings, query, session)


ReadingDep = Annotated[Reading, Depends(_reading)]


@router.get("/dashboard")
async def dashboard_page(
    request: Request,
    reading: ReadingDep,
    category: Annotated[str, Query(alias="c_category", max_length=20)] = "",
    q: Annotated[str, Query(alias="c_q", max_length=200)] = "",
) -> Response:
    login, settings, query = reading.login, reading.settings, reading.query
    if isinstance(login, Response):
        return login
    locale = request.cookies.get(LOCALE_COOKIE, "en")
    words = dashboard_words(locale)
    # "Today" is the reader's day: a trend ending today must not end yesterday for them.
    zone = localtime.zone(login.time_zone, settings.default_time_zone)
    wanted = insights.CommentFilter.of(category, q)
    async with Apis(settings, login.principal) as apis:
        view, found, themes = await asyncio.gather(
            service.dashboard(apis, words, locale, query, datetime.now(zone).date()),
            insights.comments(words, apis, wanted),
            insights.themes(words, apis),
        )
    # After the API calls: the request's database session is not shared between tasks.
    closed_loop = await insights.performance(words, reading.session, login.principal)
    return render(
        request,
        "dashboard.html",
        login=login,
        d=words,
        view=view,
        query=query,
        windows=service.ENPS_WINDOWS if query.kind == "enps" else service.NPS_WINDOWS,
        sorts=service.SORTS,
        scope=scope_words(login.principal),
        num=lambda value, decimals=1: number(value, locale, decimals),
        day=lambda value: day(value, locale),
        wanted=wanted,
        categories=insights.CATEGORIES,
        comments=found,
        themes=themes,
        closed_loop=closed_loop,
    )


@router.get("/dashboard/segments.csv")
async def segments_csv(reading: ReadingDep) -> Response:
    """The segment table as the scores API's CSV, read with the person's own rights."""
    login, query = reading.login, reading.query
    if isinstance(login, Response):
        return login
    try:
        async with Apis(reading.settings, login.principal) as apis:
            answer = await apis.get("scores", {**query.params(), "format": "csv"})
    except Unavailable:
        return Response("unavailable", status_code=503, headers={"Retry-After": "5"})
    except Refused as exc:
        return Response(exc.message, status_code=exc.status, media_type="text/plain")
    headers = {"Content-Disposition": answer.headers.get("content-disposition", "attachment")}
    return Response(answer.content, media_type="text/csv; charset=utf-8", headers=headers)
