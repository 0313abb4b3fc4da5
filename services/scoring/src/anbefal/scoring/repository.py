"""All of scoring's SQL."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import ColumnElement, func, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.arrays import as_columns
from anbefal.common.events import SurveyResponse
from anbefal.common.nps import category
from anbefal.scoring.blocks import BlockKey, add_to_blocks
from anbefal.scoring.grid import group_of
from anbefal.scoring.models import (
    ALL_DIMENSION,
    ALL_VALUE,
    DailyBucket,
    SegmentState,
)
from anbefal.scoring.nps import Figures
from anbefal.scoring.windows import Window

BucketKey = tuple[str, str, str, str, date]  # tenant, kind, dimension, value, day
SegmentKey = tuple[str, str, str, str]  # tenant, kind, dimension, value


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
    "email_hash, comment, respondent_key, respondent_name, account_id) "
    "SELECT * FROM unnest(CAST(:event_id AS uuid[]), CAST(:tenant AS text[]), "
    "CAST(:version AS int[]), CAST(:kind AS text[]), CAST(:score AS int2[]), "
    "CAST(:day AS date[]), CAST(:answered_at AS timestamptz[]), "
    "CAST(CAST(:segments AS text[]) AS jsonb[]), CAST(:respondent_hash AS text[]), "
    "CAST(:email_hash AS text[]), CAST(:comment AS text[]), CAST(:respondent_key AS text[]), "
    "CAST(:respondent_name AS text[]), CAST(:account_id AS text[])) "
    "ON CONFLICT (event_id) DO UPDATE SET version = excluded.version, kind = excluded.kind, "
    "score = excluded.score, day = excluded.day, answered_at = excluded.answered_at, "
    "segments = excluded.segments, respondent_hash = excluded.respondent_hash, "
    "email_hash = excluded.email_hash, comment = excluded.comment, "
    "respondent_key = excluded.respondent_key, respondent_name = excluded.respondent_name, "
    "account_id = excluded.account_id, updated_at = now() WHERE a.version < excluded.version"
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
_CATEGORY_SLOT = {"promoter": 0, "passive": 1, "detractor": 2}
_COUNT_CHANGES = text(
    "INSERT INTO scoring.segment_state AS s "
    "(tenant, kind, dimension, value, changes, dirty_since) "
    "SELECT t, k, d, v, n, clock_timestamp() FROM unnest(CAST(:tenant AS text[]), "
    "CAST(:kind AS text[]), CAST(:dimension AS text[]), CAST(:value AS text[]), "
    "CAST(:changes AS bigint[])) AS u(t, k, d, v, n) "
    "ON CONFLICT (tenant, kind, dimension, value) DO UPDATE SET "
    "changes = s.changes + excluded.changes, "
    "dirty_since = coalesce(s.dirty_since, clock_timestamp())"
)


# An eNPS answer's place in its block's changes (blocks.add_to_blocks): the answers API shows
# its comment only once the block's published changes reach it.
_SET_POSITIONS = text(
    "UPDATE scoring.answers AS a SET enps_position = u.p FROM unnest(CAST(:ids AS uuid[]), "
    "CAST(:positions AS bigint[])) AS u(id, p) WHERE a.event_id = u.id"
)


# An answer's keyed hashes of its respondent key and address (None: not kept), by event id.
Identities = Mapping[uuid.UUID, tuple[str | None, str | None]]


async def apply_answers(
    session: AsyncSession,
    responses: Sequence[SurveyResponse],
    default_time_zone: str,
    identities: Identities | None = None,
) -> int:
    """Store the newest version of each answer and move bucket counts (and eNPS blocks)
    accordingly.

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
    blocks: dict[BlockKey, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # counts, changes
    rows: list[tuple[object, ...]] = []
    enps_blocks: dict[uuid.UUID, BlockKey] = {}  # the block each eNPS answer now counts in
    for r in responses:
        old = existing.get(r.event_id)
        if old is not None and old.version >= r.version:
            continue
        day = r.answered_at.astimezone(zones[r.tenant][0]).date()
        answer_segments = r.segments
        segments: set[SegmentKey] = set()
        if old is not None:
            old_segments = old.segments
            if isinstance(old_segments, str):
                old_segments = orjson.loads(old_segments)
            old_answer = (r.tenant, old.kind, old.score, old.day, old_segments)
            _add(deltas, segments, blocks, *old_answer, -1)
            if old.kind == r.kind == "enps":
                # An eNPS answer stays in the month and group it was first counted in: moved,
                # it would sit in both blocks' published figures until both moved again, and
                # the move itself says something about one person. A later version changes
                # its score.
                day, answer_segments = old.day, old_segments
        _add(deltas, segments, blocks, r.tenant, r.kind, r.score, day, answer_segments, 1)
        touched.update(segments)
        if r.kind == "enps":
            group = orjson.dumps(dict(group_of(answer_segments))).decode()
            enps_blocks[r.event_id] = (r.tenant, day.replace(day=1), group)
        rows.append(
            (
                r.event_id, r.tenant, r.version, r.kind, r.score, day, r.answered_at,
                orjson.dumps(answer_segments).decode(), *identities.get(r.event_id, (None, None)),
                r.comment or None, *_shown_respondent(r),
            )
        )  # fmt: skip
    if not rows:
        return 0
    await session.execute(
        _UPSERT_ANSWERS,
        as_columns(
            rows,
            ("event_id", "tenant", "version", "kind", "score", "day", "answered_at", "segments")
            + ("respondent_hash", "email_hash", "comment")
            + ("respondent_key", "respondent_name", "account_id"),
        ),
    )
    # Sorted keys: two consumers touching the same buckets lock them in the same order.
    changed = sorted((k, v) for k, v in deltas.items() if v != [0, 0, 0])
    if changed:
        await session.execute(
            _ADD_TO_BUCKETS,
            as_columns(
                ((*k, *v) for k, v in changed),
                ("tenant", "kind", "dimension", "value", "day")
                + ("promoters", "passives", "detractors"),
            ),
        )
    await session.execute(
        _COUNT_CHANGES,
        as_columns(
            ((*k, n) for k, n in sorted(touched.items())),
            ("tenant", "kind", "dimension", "value", "changes"),
        ),
    )
    positions = await add_to_blocks(session, blocks)
    if enps_blocks:
        await session.execute(
            _SET_POSITIONS,
            {
                "ids": list(enps_blocks),
                "positions": [positions[key] for key in enps_blocks.values()],
            },
        )
    return len(rows)


def _shown_respondent(r: SurveyResponse) -> tuple[str | None, str | None, str | None]:
    """What the answers API shows of an NPS respondent (key, name, account; the name from the
    sealed contact data the consumer opened); nothing of an employee."""
    if r.kind != "nps":
        return None, None, None
    return r.respondent.key, r.respondent.name or None, r.respondent.account_id or None


def _add(
    deltas: dict[BucketKey, list[int]],
    segments: set[SegmentKey],
    blocks: dict[BlockKey, list[int]],
    tenant: str,
    kind: str,
    score: int,
    day: date,
    answer_segments: dict[str, str],
    sign: int,
) -> None:
    """Add (sign 1) or take away (sign -1) one answer's count in each of its buckets, and an
    eNPS answer's in its block (either is one change of the block). A segment of the answer's
    own named like the total's dimension (ingest refuses it; older events on the topic may
    carry one) is ignored, or the answer would count in the total twice."""
    slot = _CATEGORY_SLOT[category(score)]
    own = group_of(answer_segments)
    for dimension, value in ((ALL_DIMENSION, ALL_VALUE), *own):
        deltas[(tenant, kind, dimension, value, day)][slot] += sign
        segments.add((tenant, kind, dimension, value))
    if kind == "enps":
        block = blocks[(tenant, day.replace(day=1), orjson.dumps(dict(own)).decode())]
        block[slot] += sign
        block[3] += 1


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


async def mark_reported(session: AsyncSession, seen: Sequence[SegmentState]) -> None:
    """The score event scheduler looked at `seen` (locked by it since `due_segments`)."""
    if seen:
        await session.execute(
            update(SegmentState)
            .where(_segment_in(SegmentState, seen))
            .values(dirty_since=None)
            .execution_options(synchronize_session=False)
        )


def _segment_in(table: type[SegmentState], states: Sequence[SegmentState]) -> ColumnElement[bool]:
    return tuple_(table.tenant, table.kind, table.dimension, table.value).in_(
        [(s.tenant, s.kind, s.dimension, s.value) for s in states]
    )


async def figures_and_previous(
    session: AsyncSession, *, tenant: str, kind: str, dimension: str, window: Window
) -> tuple[dict[str, Figures], dict[str, Figures]]:
    """A dimension's figures over the window and over the period it is compared with, in one
    scan: the scores API's every request needs both."""
    b = DailyBucket
    first, last = window.first, window.last
    start = min(first, window.previous_first)
    now = b.day >= first
    before = (b.day >= window.previous_first) & (b.day <= window.previous_last)
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


async def known_dimensions(session: AsyncSession, tenant: str) -> list[str]:
    """Every dimension the tenant's answers ever had (either kind), and `all`, sorted."""
    rows = await session.scalars(
        select(DailyBucket.dimension).where(DailyBucket.tenant == tenant).distinct()
    )
    return sorted({ALL_DIMENSION, *rows})


async def segment_states(session: AsyncSession, tenant: str, kind: str) -> list[SegmentState]:
    rows = await session.scalars(
        select(SegmentState).where(SegmentState.tenant == tenant, SegmentState.kind == kind)
    )
    return list(rows)


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
    """Figures per day, week (ISO, from Monday), month or quarter between two days, oldest
    first (NPS; eNPS figures come only from the grid)."""
    b = DailyBucket
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
