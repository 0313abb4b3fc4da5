"""All of scoring's SQL."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.db import upsert_latest
from anbefal.common.events import SurveyResponse, TenantSettings
from anbefal.scoring.models import ALL_DIMENSION, ALL_VALUE, Answer, DailyBucket, Tenant
from anbefal.scoring.nps import Figures, category

BucketKey = tuple[str, str, str, str, date]  # tenant, kind, dimension, value, day


async def upsert_tenants(session: AsyncSession, settings: Sequence[TenantSettings]) -> None:
    rows = [
        {"tenant": s.tenant, "time_zone": s.time_zone, "anonymity_k": s.anonymity_k}
        for s in settings
    ]
    await upsert_latest(session, Tenant, rows, "tenant")


async def tenant_settings(
    session: AsyncSession, tenants: Iterable[str], default_time_zone: str, default_k: int
) -> dict[str, tuple[ZoneInfo, int]]:
    names = set(tenants)
    rows = await session.execute(
        select(Tenant.tenant, Tenant.time_zone, Tenant.anonymity_k).where(Tenant.tenant.in_(names))
    )
    found = {t: (ZoneInfo(tz), k) for t, tz, k in rows}
    default = (ZoneInfo(default_time_zone), default_k)
    return {t: found.get(t, default) for t in names}


def _contributions(
    tenant: str, kind: str, score: int, day: date, segments: dict[str, str]
) -> Iterable[tuple[BucketKey, Figures]]:
    cat = category(score)
    one = Figures(
        promoters=int(cat == "promoter"),
        passives=int(cat == "passive"),
        detractors=int(cat == "detractor"),
    )
    yield (tenant, kind, ALL_DIMENSION, ALL_VALUE, day), one
    for dimension, value in segments.items():
        yield (tenant, kind, dimension, value, day), one


def _negate(f: Figures) -> Figures:
    return Figures(-f.promoters, -f.passives, -f.detractors)


async def apply_answers(
    session: AsyncSession, responses: Sequence[SurveyResponse], default_time_zone: str
) -> int:
    """Store the newest version of each answer and move bucket counts accordingly.

    Returns how many answers changed. Older or equal versions (redeliveries) change nothing.
    """
    zones = await tenant_settings(session, (r.tenant for r in responses), default_time_zone, 5)
    ids = [r.event_id for r in responses]
    # Lock the stored versions: their old bucket must be known to move an edited answer.
    existing_rows = await session.execute(
        select(
            Answer.event_id, Answer.version, Answer.kind, Answer.score, Answer.day, Answer.segments
        )
        .where(Answer.event_id.in_(ids))
        .with_for_update()
    )
    existing = {row.event_id: row for row in existing_rows}
    deltas: dict[BucketKey, Figures] = defaultdict(Figures)
    rows: list[dict[str, object]] = []
    for r in responses:
        old = existing.get(r.event_id)
        if old is not None and old.version >= r.version:
            continue
        zone = zones[r.tenant][0]
        day = r.answered_at.astimezone(zone).date()
        if old is not None:
            for key, figs in _contributions(r.tenant, old.kind, old.score, old.day, old.segments):
                deltas[key] = deltas[key] + _negate(figs)
        for key, figs in _contributions(r.tenant, r.kind, r.score, day, r.segments):
            deltas[key] = deltas[key] + figs
        rows.append(
            {
                "event_id": r.event_id,
                "tenant": r.tenant,
                "version": r.version,
                "kind": r.kind,
                "score": r.score,
                "day": day,
                "answered_at": r.answered_at,
                "segments": r.segments,
            }
        )
    if not rows:
        return 0
    stmt = insert(Answer).values(rows)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[Answer.event_id],
            set_={
                c: stmt.excluded[c]
                for c in ("version", "kind", "score", "day", "answered_at", "segments")
            }
            | {"updated_at": func.now()},
            where=Answer.version < stmt.excluded.version,
        )
    )
    changed = {k: v for k, v in deltas.items() if v != Figures()}
    if changed:
        # Sorted keys: two consumers touching the same buckets lock them in the same order.
        bucket_rows = [
            {
                "tenant": k[0],
                "kind": k[1],
                "dimension": k[2],
                "value": k[3],
                "day": k[4],
                "promoters": v.promoters,
                "passives": v.passives,
                "detractors": v.detractors,
            }
            for k, v in sorted(changed.items())
        ]
        bstmt = insert(DailyBucket).values(bucket_rows)
        await session.execute(
            bstmt.on_conflict_do_update(
                index_elements=[
                    DailyBucket.tenant,
                    DailyBucket.kind,
                    DailyBucket.dimension,
                    DailyBucket.value,
                    DailyBucket.day,
                ],
                set_={
                    "promoters": DailyBucket.promoters + bstmt.excluded.promoters,
                    "passives": DailyBucket.passives + bstmt.excluded.passives,
                    "detractors": DailyBucket.detractors + bstmt.excluded.detractors,
                },
            )
        )
    return len(rows)


async def segment_figures(
    session: AsyncSession, *, tenant: str, kind: str, dimension: str, first: date, last: date
) -> dict[str, Figures]:
    rows = await session.execute(
        select(
            DailyBucket.value,
            func.sum(DailyBucket.promoters),
            func.sum(DailyBucket.passives),
            func.sum(DailyBucket.detractors),
        )
        .where(
            DailyBucket.tenant == tenant,
            DailyBucket.kind == kind,
            DailyBucket.dimension == dimension,
            DailyBucket.day >= first,
            DailyBucket.day <= last,
        )
        .group_by(DailyBucket.value)
    )
    return {value: Figures(int(p), int(pa), int(d)) for value, p, pa, d in rows}


async def get_tenant_zone(
    session: AsyncSession, tenant: str, default_time_zone: str, default_k: int
) -> tuple[ZoneInfo, int]:
    return (await tenant_settings(session, [tenant], default_time_zone, default_k))[tenant]


async def timeseries(
    session: AsyncSession,
    *,
    tenant: str,
    kind: str,
    dimension: str,
    value: str,
    first: date,
    last: date,
    interval: str,
) -> list[tuple[date, Figures]]:
    """Figures per day, week (ISO, from Monday) or month between two days, oldest first."""
    period = func.date_trunc(interval, DailyBucket.day).label("period")
    rows = await session.execute(
        select(
            period,
            func.sum(DailyBucket.promoters),
            func.sum(DailyBucket.passives),
            func.sum(DailyBucket.detractors),
        )
        .where(
            DailyBucket.tenant == tenant,
            DailyBucket.kind == kind,
            DailyBucket.dimension == dimension,
            DailyBucket.value == value,
            DailyBucket.day >= first,
            DailyBucket.day <= last,
        )
        .group_by(period)
        .order_by(period)
    )
    return [(start.date(), Figures(int(p), int(pa), int(d))) for start, p, pa, d in rows]
