"""All of scoring's SQL."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, delete, func, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.db import upsert_latest
from anbefal.common.events import SurveyResponse, TenantSettings
from anbefal.scoring.models import (
    ALL_DIMENSION,
    ALL_VALUE,
    Answer,
    DailyBucket,
    PublishedBucket,
    SegmentState,
    Tenant,
)
from anbefal.scoring.nps import Figures, category

BucketKey = tuple[str, str, str, str, date]  # tenant, kind, dimension, value, day
SegmentKey = tuple[str, str, str, str]  # tenant, kind, dimension, value
Buckets = type[DailyBucket] | type[PublishedBucket]


def shown_buckets(kind: str) -> Buckets:
    """The buckets a reader may see: eNPS only through its published copy (DESIGN.md §6)."""
    return PublishedBucket if kind == "enps" else DailyBucket


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
    # How many answers changed each segment: an edit counts once in its old and its new one.
    touched: Counter[SegmentKey] = Counter()
    rows: list[dict[str, object]] = []
    for r in responses:
        old = existing.get(r.event_id)
        if old is not None and old.version >= r.version:
            continue
        zone = zones[r.tenant][0]
        day = r.answered_at.astimezone(zone).date()
        segments: set[SegmentKey] = set()
        if old is not None:
            for key, figs in _contributions(r.tenant, old.kind, old.score, old.day, old.segments):
                deltas[key] = deltas[key] + _negate(figs)
                segments.add(key[:4])
        for key, figs in _contributions(r.tenant, r.kind, r.score, day, r.segments):
            deltas[key] = deltas[key] + figs
            segments.add(key[:4])
        touched.update(segments)
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
    await _count_changes(session, touched)
    return len(rows)


async def _count_changes(session: AsyncSession, touched: Counter[SegmentKey]) -> None:
    """Tell the score publisher which segments changed (it reads `dirty_since`)."""
    if not touched:
        return
    stmt = insert(SegmentState).values(
        [
            {
                "tenant": t,
                "kind": k,
                "dimension": d,
                "value": v,
                "changes": n,
                "published_changes": 0,
                "dirty_since": func.clock_timestamp(),
            }
            for (t, k, d, v), n in sorted(touched.items())  # one lock order for all consumers
        ]
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[
                SegmentState.tenant,
                SegmentState.kind,
                SegmentState.dimension,
                SegmentState.value,
            ],
            set_={
                "changes": SegmentState.changes + stmt.excluded.changes,
                # Evaluated once the row lock is ours: a change that waited for the publisher
                # to finish counts from then, so events stay `interval_s` apart.
                "dirty_since": func.coalesce(SegmentState.dirty_since, func.clock_timestamp()),
            },
        )
    )


async def due_segments(session: AsyncSession, *, quiet_s: float, limit: int) -> list[SegmentState]:
    """Segments whose first unreported change is at least `quiet_s` old, locked for this
    transaction; a copy of the service working on others skips these (SKIP LOCKED)."""
    rows = await session.scalars(
        select(SegmentState)
        .where(SegmentState.dirty_since <= func.now() - timedelta(seconds=quiet_s))
        .order_by(SegmentState.dirty_since)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(rows)


async def mark_reported(
    session: AsyncSession, seen: Sequence[SegmentState], published: Sequence[SegmentState]
) -> None:
    """The publisher looked at `seen`; the eNPS figures of `published` now include every
    change counted when they were locked (nobody can have counted more: the rows are locked)."""
    if seen:
        await session.execute(
            update(SegmentState)
            .where(_segment_in(SegmentState, seen))
            .values(dirty_since=None)
            .execution_options(synchronize_session=False)
        )
    if published:
        await session.execute(
            update(SegmentState)
            .where(_segment_in(SegmentState, published))
            .values(published_changes=SegmentState.changes)
            .execution_options(synchronize_session=False)
        )


def _segment_in(
    table: type[SegmentState] | Buckets, states: Sequence[SegmentState]
) -> ColumnElement[bool]:
    return tuple_(table.tenant, table.kind, table.dimension, table.value).in_(
        [(s.tenant, s.kind, s.dimension, s.value) for s in states]
    )


async def publish_buckets(session: AsyncSession, states: Sequence[SegmentState]) -> None:
    """Replace the published buckets of these segments with their live ones."""
    if not states:
        return
    await session.execute(delete(PublishedBucket).where(_segment_in(PublishedBucket, states)))
    columns = [c.name for c in DailyBucket.__table__.columns]
    await session.execute(
        insert(PublishedBucket).from_select(
            columns,
            select(*(DailyBucket.__table__.c[c] for c in columns)).where(
                _segment_in(DailyBucket, states)
            ),
        )
    )


async def segment_figures(
    session: AsyncSession,
    *,
    tenant: str,
    kind: str,
    dimension: str,
    first: date,
    last: date,
    table: Buckets | None = None,
) -> dict[str, Figures]:
    b = table or shown_buckets(kind)
    rows = await session.execute(
        select(b.value, func.sum(b.promoters), func.sum(b.passives), func.sum(b.detractors))
        .where(
            b.tenant == tenant,
            b.kind == kind,
            b.dimension == dimension,
            b.day >= first,
            b.day <= last,
        )
        .group_by(b.value)
    )
    return {value: Figures(int(p), int(pa), int(d)) for value, p, pa, d in rows}


async def every_segment_figures(
    session: AsyncSession, *, tenant: str, kind: str, first: date, last: date
) -> dict[str, dict[str, Figures]]:
    """Shown figures of every segment of every dimension: dimension -> value -> figures."""
    b = shown_buckets(kind)
    rows = await session.execute(
        select(
            b.dimension,
            b.value,
            func.sum(b.promoters),
            func.sum(b.passives),
            func.sum(b.detractors),
        )
        .where(b.tenant == tenant, b.kind == kind, b.day >= first, b.day <= last)
        .group_by(b.dimension, b.value)
    )
    out: dict[str, dict[str, Figures]] = defaultdict(dict)
    for dimension, value, p, pa, d in rows:
        out[dimension][value] = Figures(int(p), int(pa), int(d))
    return dict(out)


async def people_per_segment(
    session: AsyncSession, *, tenant: str, kind: str, dimension: str, first: date, last: date
) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str, str], int]]:
    """From the answers themselves: how many people each segment of every dimension has, and
    how many are both in a segment of `dimension` and in a segment of another dimension:
    ({(dimension, value): n}, {(value, other dimension, other value): n})."""
    window = "a.tenant = :tenant AND a.kind = :kind AND a.day BETWEEN :first AND :last"
    params = {"tenant": tenant, "kind": kind, "first": first, "last": last, "dim": dimension}
    sizes = await session.execute(
        text(
            "SELECT s.key, s.value, count(*) FROM scoring.answers a, "
            f"jsonb_each_text(a.segments) s WHERE {window} GROUP BY 1, 2"
        ),
        params,
    )
    overlaps = await session.execute(
        text(
            "SELECT a.segments ->> :dim, s.key, s.value, count(*) FROM scoring.answers a, "
            f"jsonb_each_text(a.segments) s WHERE {window} AND a.segments ? :dim "
            "AND s.key <> :dim GROUP BY 1, 2, 3"
        ),
        params,
    )
    return (
        {(d, v): int(n) for d, v, n in sizes},
        {(v, d, ov): int(n) for v, d, ov, n in overlaps},
    )


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
    b = shown_buckets(kind)
    period = func.date_trunc(interval, b.day).label("period")
    rows = await session.execute(
        select(period, func.sum(b.promoters), func.sum(b.passives), func.sum(b.detractors))
        .where(
            b.tenant == tenant,
            b.kind == kind,
            b.dimension == dimension,
            b.value == value,
            b.day >= first,
            b.day <= last,
        )
        .group_by(period)
        .order_by(period)
    )
    return [(start.date(), Figures(int(p), int(pa), int(d))) for start, p, pa, d in rows]
