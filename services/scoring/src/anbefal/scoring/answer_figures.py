"""NPS figures counted from `scoring.answers` (the latest version of every answer), for the
reads daily buckets cannot serve: buckets are per dimension, so several segment values at once
(`department:Support` and `country:SE`) or a team lead's scope are counted here, in one query
over the answers' (tenant, kind, day) index with the segment conditions applied to each row.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import ColumnElement, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.scoring.models import ALL_DIMENSION, ALL_VALUE, Answer
from anbefal.scoring.nps import Figures
from anbefal.scoring.segment_filter import SegmentFilter
from anbefal.scoring.windows import Window

a = Answer


def _counts(when: ColumnElement[bool] | None = None) -> list[ColumnElement[int]]:
    """Promoters (9-10), passives (7-8) and detractors (0-6), as count(*) FILTER columns."""
    categories = (a.score >= 9, a.score.between(7, 8), a.score <= 6)
    return [func.count().filter(c if when is None else when & c) for c in categories]


def _answers(
    tenant: str, kind: str, dimension: str, first: date, last: date, where: SegmentFilter
) -> tuple[ColumnElement[str], list[ColumnElement[bool]]]:
    """The segment value column of `dimension` and the conditions of the answers to count."""
    conditions = [a.tenant == tenant, a.kind == kind, a.day >= first, a.day <= last]
    conditions += where.where(a.segments)
    if dimension == ALL_DIMENSION:
        return literal(ALL_VALUE), conditions
    value = a.segments[dimension].astext
    return value, [*conditions, value.is_not(None)]


async def breakdown(
    session: AsyncSession,
    *,
    tenant: str,
    kind: str,
    dimension: str,
    window: Window,
    where: SegmentFilter,
) -> tuple[dict[str, Figures], dict[str, Figures]]:
    """Per segment of `dimension`, the figures of the filtered answers in the window and in the
    period it is compared with."""
    start = min(window.first, window.previous_first)
    value, conditions = _answers(tenant, kind, dimension, start, window.last, where)
    now = (a.day >= window.first) & (a.day <= window.last)
    before = (a.day >= window.previous_first) & (a.day <= window.previous_last)
    query = (
        select(value.label("value"), *_counts(now), *_counts(before))
        .where(*conditions)
        .group_by(value)
    )
    current: dict[str, Figures] = {}
    previous: dict[str, Figures] = {}
    for row in await session.execute(query):
        name, counts = str(row[0]), [int(c) for c in row[1:]]
        for out, (p, pa, d) in ((current, counts[0:3]), (previous, counts[3:6])):
            if p or pa or d:
                out[name] = Figures(p, pa, d)
    return current, previous


async def series(
    session: AsyncSession,
    *,
    tenant: str,
    kind: str,
    first: date,
    last: date,
    interval: str,
    where: SegmentFilter,
) -> list[tuple[date, Figures]]:
    """The filtered answers' figures per day, week (ISO, from Monday), month or quarter,
    oldest first."""
    _, conditions = _answers(tenant, kind, ALL_DIMENSION, first, last, where)
    period = func.date_trunc(interval, a.day).label("period")
    rows = await session.execute(
        select(period, *_counts()).where(*conditions).group_by(period).order_by(period)
    )
    return [(start.date(), Figures(int(p), int(pa), int(d))) for start, p, pa, d in rows]
