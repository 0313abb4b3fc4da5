"""The SQL of the answers API: one set of conditions for a query (the page, its total, and the
themes' comments all use it), newest first for NPS, by id for eNPS (whose order must carry no
time), a keyset cursor over that order."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, Date, cast, exists, func, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.nps import DETRACTORS, PASSIVES, PROMOTERS
from anbefal.scoring.answers_api.query import AnswerQuery, Cursor
from anbefal.scoring.models import ALL_DIMENSION, Answer, EnpsBlock

BANDS = {"promoter": PROMOTERS, "passive": PASSIVES, "detractor": DETRACTORS}


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def conditions(q: AnswerQuery) -> list[ColumnElement[bool]]:
    a = Answer
    where = [
        a.tenant == q.tenant,
        a.kind == q.kind,
        a.day >= q.period.first_day,
        a.day <= q.period.last_day,
    ]
    where += q.segments.where(a.segments)
    if q.category is not None:
        band = BANDS[q.category]
        where.append(a.score.between(band.low, band.high))
    if q.has_comment is not None:
        where.append(a.comment.is_not(None) if q.has_comment else a.comment.is_(None))
    if q.text:
        where.append(a.comment.ilike(_like(q.text), escape="\\"))
    if q.kind == "enps":
        b = EnpsBlock
        where.append(a.comment.is_not(None))
        where.append(
            exists().where(
                b.tenant == a.tenant,
                b.month == cast(func.date_trunc("month", a.day), Date),
                b.segments == a.segments.op("-")(literal(ALL_DIMENSION)),
                b.published_at.is_not(None),
                # In the block's published figures (an answer stored before positions were
                # kept counts from its block's first publication).
                b.shown_changes >= func.coalesce(a.enps_position, 0),
            )
        )
    return where


async def count(session: AsyncSession, q: AnswerQuery) -> int:
    total = await session.scalar(select(func.count()).select_from(Answer).where(*conditions(q)))
    return int(total or 0)


async def page(
    session: AsyncSession, q: AnswerQuery, cursor: Cursor | None, limit: int
) -> Sequence[Answer]:
    a = Answer
    statement = select(a).where(*conditions(q)).limit(limit)
    if q.kind == "enps":
        statement = statement.order_by(a.event_id)
        if cursor is not None:
            statement = statement.where(a.event_id > cursor.event_id)
    else:
        statement = statement.order_by(a.answered_at.desc(), a.event_id.desc())
        if cursor is not None and cursor.answered_at is not None:
            statement = statement.where(
                tuple_(a.answered_at, a.event_id) < tuple_(cursor.answered_at, cursor.event_id)
            )
    return list(await session.scalars(statement))


async def comments(
    session: AsyncSession, q: AnswerQuery, limit: int
) -> list[tuple[str, int, dict[str, str]]]:
    """The newest `limit` comments the query matches, with their score and segments."""
    a = Answer
    rows = await session.execute(
        select(a.comment, a.score, a.segments)
        .where(*conditions(q), a.comment.is_not(None))
        .order_by(a.answered_at.desc(), a.event_id.desc())
        .limit(limit)
    )
    return [(str(c), int(s), dict(seg)) for c, s, seg in rows]
