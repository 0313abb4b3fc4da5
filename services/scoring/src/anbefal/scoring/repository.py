"""All of scoring's SQL."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import ColumnElement, delete, func, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.events import SurveyResponse
from anbefal.common.nps import category
from anbefal.scoring.models import (
    ALL_DIMENSION,
    ALL_VALUE,
    DailyBucket,
    PublishedBucket,
    SegmentState,
)
from anbefal.scoring.nps import Figures

BucketKey = tuple[str, str, str, str, date]  # tenant, kind, dimension, value, day
SegmentKey = tuple[str, str, str, str]  # tenant, kind, dimension, value
Buckets = type[DailyBucket] | type[PublishedBucket]


def shown_buckets(kind: str) -> Buckets:
    """The buckets a reader may see: eNPS only through its published copy (see PublishedBucket)."""
    return PublishedBucket if kind == "enps" else DailyBucket


# Constant SQL (see the consumer's statements below): it runs for every batch.
_SCORING_SETTINGS = text(
    "SELECT tenant, time_zone, anonymity_k FROM scoring.tenants "
    "WHERE tenant = ANY(CAST(:names AS text[]))"
)


async def scoring_settings(
    session: AsyncSession, tenants: Iterable[str], default_time_zone: str, default_k: int
) -> dict[str, tuple[ZoneInfo, int]]:
    """The part of each tenant's settings scoring reads (its time zone and anonymity k), from
    the projection in scoring.tenants; the defaults stand for a tenant whose settings never came."""
    names = set(tenants)
    rows = await session.execute(_SCORING_SETTINGS, {"names": list(names)})
    found = {t: (ZoneInfo(tz), k) for t, tz, k in rows}
    default = (ZoneInfo(default_time_zone), default_k)
    return {t: found.get(t, default) for t in names}


# The consumer's statements are constant SQL over arrays (unnest): compiled once, prepared once
# per connection, and one round trip per table whatever the batch size. Multi-row VALUES built
# by SQLAlchemy cost more CPU to compile per batch than everything else in the consumer.
_LOCK_STORED = text(
    "SELECT event_id, version, kind, score, day, segments FROM scoring.answers "
    "WHERE event_id = ANY(CAST(:ids AS uuid[])) FOR UPDATE"
)
_UPSERT_ANSWERS = text(
    "INSERT INTO scoring.answers AS a "
    "(event_id, tenant, version, kind, score, day, answered_at, segments, respondent_hash, "
    "email_hash) "
    "SELECT * FROM unnest(CAST(:event_id AS uuid[]), CAST(:tenant AS text[]), "
    "CAST(:version AS int[]), CAST(:kind AS text[]), CAST(:score AS int2[]), "
    "CAST(:day AS date[]), CAST(:answered_at AS timestamptz[]), "
    "CAST(CAST(:segments AS text[]) AS jsonb[]), CAST(:respondent_hash AS text[]), "
    "CAST(:email_hash AS text[])) "
    "ON CONFLICT (event_id) DO UPDATE SET version = excluded.version, kind = excluded.kind, "
    "score = excluded.score, day = excluded.day, answered_at = excluded.answered_at, "
    "segments = excluded.segments, respondent_hash = excluded.respondent_hash, "
    "email_hash = excluded.email_hash, updated_at = now() WHERE a.version < excluded.version"
)
_ADD_TO_BUCKETS = text(
    "INSERT INTO scoring.daily_buckets AS b "
    "(tenant, kind, dimension, value, day, promoters, passives, detractors) "
    "SELECT * FROM unnest(CAST(:tenant AS text[]), CAST(:kind AS text[]), "
    "CAST(:dimension AS text[]), CAST(:value AS text[]), CAST(:day AS date[]), "
    "CAST(:promoters AS int[]), CAST(:passives AS int[]), CAST(:detractors AS int[])) "
    "ON CONFLICT (tenant, kind, dimension, value, day) DO UPDATE SET "
    "promoters = b.promoters + excluded.promoters, passives = b.passives + excluded.passives, "
    "detractors = b.detractors + excluded.detractors"
)
# dirty_since is evaluated once the row lock is ours: a change that waited for the score event
# scheduler to finish counts from then, so a segment's events stay `interval_s` apart.
_COUNT_CHANGES = text(
    "INSERT INTO scoring.segment_state AS s "
    "(tenant, kind, dimension, value, changes, published_changes, dirty_since) "
    "SELECT t, k, d, v, n, 0, clock_timestamp() FROM unnest(CAST(:tenant AS text[]), "
    "CAST(:kind AS text[]), CAST(:dimension AS text[]), CAST(:value AS text[]), "
    "CAST(:changes AS bigint[])) AS u(t, k, d, v, n) "
    "ON CONFLICT (tenant, kind, dimension, value) DO UPDATE SET "
    "changes = s.changes + excluded.changes, "
    "dirty_since = coalesce(s.dirty_since, clock_timestamp())"
)
_CATEGORY_SLOT = {"promoter": 0, "passive": 1, "detractor": 2}


def _columns(rows: Iterable[Sequence[object]], names: Sequence[str]) -> dict[str, list[object]]:
    """Rows as one array per column, the shape the unnest statements take."""
    columns: dict[str, list[object]] = {name: [] for name in names}
    lists = list(columns.values())
    for row in rows:
        for values, value in zip(lists, row, strict=True):
            values.append(value)
    return columns


# An answer's keyed hashes of its respondent key and address (None: not kept), by event id.
Identities = Mapping[uuid.UUID, tuple[str | None, str | None]]


async def apply_answers(
    session: AsyncSession,
    responses: Sequence[SurveyResponse],
    default_time_zone: str,
    identities: Identities | None = None,
) -> int:
    """Store the newest version of each answer and move bucket counts accordingly.

    Returns how many answers changed. Older or equal versions (redeliveries) change nothing.
    """
    identities = identities or {}
    zones = await scoring_settings(session, (r.tenant for r in responses), default_time_zone, 5)
    # Lock the stored versions: their old bucket must be known to move an edited answer.
    existing = {
        row.event_id: row
        for row in await session.execute(_LOCK_STORED, {"ids": [r.event_id for r in responses]})
    }
    # Per bucket: [promoters, passives, detractors] to add (negative for an edit's old bucket).
    deltas: dict[BucketKey, list[int]] = defaultdict(lambda: [0, 0, 0])
    # How many answers changed each segment: an edit counts once in its old and its new one.
    touched: Counter[SegmentKey] = Counter()
    rows: list[tuple[object, ...]] = []
    for r in responses:
        old = existing.get(r.event_id)
        if old is not None and old.version >= r.version:
            continue
        day = r.answered_at.astimezone(zones[r.tenant][0]).date()
        segments: set[SegmentKey] = set()
        if old is not None:
            old_segments = old.segments
            if isinstance(old_segments, str):
                old_segments = orjson.loads(old_segments)
            _add(deltas, segments, r.tenant, old.kind, old.score, old.day, old_segments, -1)
        _add(deltas, segments, r.tenant, r.kind, r.score, day, r.segments, 1)
        touched.update(segments)
        rows.append(
            (
                r.event_id, r.tenant, r.version, r.kind, r.score, day, r.answered_at,
                orjson.dumps(r.segments).decode(), *identities.get(r.event_id, (None, None)),
            )
        )  # fmt: skip
    if not rows:
        return 0
    await session.execute(
        _UPSERT_ANSWERS,
        _columns(
            rows,
            ("event_id", "tenant", "version", "kind", "score", "day", "answered_at", "segments")
            + ("respondent_hash", "email_hash"),
        ),
    )
    # Sorted keys: two consumers touching the same buckets lock them in the same order.
    changed = sorted((k, v) for k, v in deltas.items() if v != [0, 0, 0])
    if changed:
        await session.execute(
            _ADD_TO_BUCKETS,
            _columns(
                ((*k, *v) for k, v in changed),
                ("tenant", "kind", "dimension", "value", "day")
                + ("promoters", "passives", "detractors"),
            ),
        )
    await session.execute(
        _COUNT_CHANGES,
        _columns(
            ((*k, n) for k, n in sorted(touched.items())),
            ("tenant", "kind", "dimension", "value", "changes"),
        ),
    )
    return len(rows)


def _add(
    deltas: dict[BucketKey, list[int]],
    segments: set[SegmentKey],
    tenant: str,
    kind: str,
    score: int,
    day: date,
    answer_segments: dict[str, str],
    sign: int,
) -> None:
    """Add (sign 1) or take away (sign -1) one answer's count in each of its buckets. A segment
    of the answer's own named like the total's dimension (ingest refuses it; older events on
    the topic may carry one) is ignored, or the answer would count in the total twice."""
    slot = _CATEGORY_SLOT[category(score)]
    own = ((d, v) for d, v in answer_segments.items() if d != ALL_DIMENSION)
    for dimension, value in ((ALL_DIMENSION, ALL_VALUE), *own):
        deltas[(tenant, kind, dimension, value, day)][slot] += sign
        segments.add((tenant, kind, dimension, value))


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
    """The score event scheduler looked at `seen`; the eNPS figures of `published` now include every
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


async def figures_and_previous(
    session: AsyncSession, *, tenant: str, kind: str, dimension: str, first: date, last: date
) -> tuple[dict[str, Figures], dict[str, Figures]]:
    """A dimension's figures over [first, last] and over the period of the same length just
    before it, in one scan: the scores API's every request needs both."""
    b = shown_buckets(kind)
    start = first - (last - first + timedelta(days=1))
    now, before = b.day >= first, b.day < first
    rows = await session.execute(
        select(
            b.value,
            *(func.sum(c).filter(now) for c in (b.promoters, b.passives, b.detractors)),
            *(func.sum(c).filter(before) for c in (b.promoters, b.passives, b.detractors)),
        )
        .where(
            b.tenant == tenant,
            b.kind == kind,
            b.dimension == dimension,
            b.day >= start,
            b.day <= last,
        )
        .group_by(b.value)
    )
    current: dict[str, Figures] = {}
    previous: dict[str, Figures] = {}
    for row in rows:
        for out, (p, pa, d) in ((current, row[1:4]), (previous, row[4:7])):
            if p is not None:  # no bucket of this segment in that period
                out[row[0]] = Figures(int(p), int(pa), int(d))
    return current, previous


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


async def people_and_overlaps(
    session: AsyncSession, *, tenant: str, kind: str, first: date, last: date
) -> tuple[dict[tuple[str, str], int], dict[str, dict[tuple[str, str, str], int]]]:
    """From the answers themselves: how many people each segment of every dimension has, and
    for every pair of dimensions how many are in both of two segments:
    ({(dimension, value): n}, {dimension: {(value, other dimension, other value): n}})."""
    window = "a.tenant = :tenant AND a.kind = :kind AND a.day BETWEEN :first AND :last"
    params = {"tenant": tenant, "kind": kind, "first": first, "last": last}
    sizes = await session.execute(
        text(
            "SELECT s.key, s.value, count(*) FROM scoring.answers a, "
            f"jsonb_each_text(a.segments) s WHERE {window} GROUP BY 1, 2"
        ),
        params,
    )
    pairs = await session.execute(
        text(
            "SELECT s.key, s.value, o.key, o.value, count(*) FROM scoring.answers a, "
            f"jsonb_each_text(a.segments) s, jsonb_each_text(a.segments) o WHERE {window} "
            "AND s.key <> o.key GROUP BY 1, 2, 3, 4"
        ),
        params,
    )
    overlaps: dict[str, dict[tuple[str, str, str], int]] = {}
    for dim, value, other_dim, other_value, n in pairs:
        overlaps.setdefault(dim, {})[(value, other_dim, other_value)] = int(n)
    return {(d, v): int(n) for d, v, n in sizes}, overlaps


async def get_tenant_zone(
    session: AsyncSession, tenant: str, default_time_zone: str, default_k: int
) -> tuple[ZoneInfo, int]:
    return (await scoring_settings(session, [tenant], default_time_zone, default_k))[tenant]


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
