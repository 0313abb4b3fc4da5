"""The score event scheduler: turns changed segments into `anbefal.scores.v1` events in the
outbox, throttled. (The outbox relay publishes them; this worker never talks to Kafka.)

The consumer only counts, per segment, the answers that changed it and stamps the first
unreported change (`segment_state.dirty_since`). This worker looks at a segment `interval_s`
after that stamp, so the changes of those seconds coalesce into one event and a segment's
events are at least `interval_s` apart. In the same transaction it writes the events into the
outbox (docs/architecture.md §4); the relay publishes them, so a crash between the decision and
the broker loses nothing.

- NPS: the segment's figures over the last 30 days.
- eNPS: first the tenant's blocks of the grid that may be published are (grid.py), in this
  transaction, so a burst of answers moves the figures as one step; then every segment of the
  tenant's current month whose shown figures (or suppression) differ from its last event gets
  one, exactly as the scores API shows it: an event never says more than the API, and an
  answer that moved nothing says nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anbefal.common import topics
from anbefal.common.events import ScoresChanged, scores_event_id
from anbefal.common.outbox import OutboxEvent, enqueue
from anbefal.common.worker import PollingWorker
from anbefal.scoring import blocks, repository, scores
from anbefal.scoring.grid import Cell, Reason
from anbefal.scoring.models import OUTBOX, SegmentState
from anbefal.scoring.nps import Figures
from anbefal.scoring.windows import window

EVENT_WINDOW = "30d"


class ScoreEventScheduler:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        default_time_zone: str,
        default_k: int,
        interval_s: float,
        poll_s: float,
        batch: int = 200,
    ) -> None:
        self._default_time_zone = default_time_zone
        self._default_k = default_k
        self._interval_s = interval_s
        self._batch = batch
        self.worker = PollingWorker(
            "score-events",
            sessionmaker,
            self.schedule_once,
            poll_s=poll_s,
        )

    async def schedule_once(self, session: AsyncSession) -> int:
        """Handle one batch of due segments; returns how many it looked at."""
        due = await repository.due_segments(session, quiet_s=self._interval_s, limit=self._batch)
        if not due:
            return 0
        tenants = await repository.scoring_settings(
            session, {s.tenant for s in due}, self._default_time_zone, self._default_k
        )
        now = datetime.now(UTC)
        events = await self._nps_events(session, [s for s in due if s.kind != "enps"], tenants, now)
        for tenant in sorted({s.tenant for s in due if s.kind == "enps"}):
            events += await self._enps_events(session, tenant, *tenants[tenant], now)
        await enqueue(session, OUTBOX, topics.SCORES, events)
        await repository.mark_reported(session, due)
        return len(due)

    async def _nps_events(
        self,
        session: AsyncSession,
        states: list[SegmentState],
        tenants: dict[str, tuple[ZoneInfo, int]],
        now: datetime,
    ) -> list[OutboxEvent]:
        # One breakdown per (tenant, dimension) serves every segment of it in the batch.
        breakdowns: dict[tuple[str, str], scores.Breakdown] = {}
        events = []
        for s in states:
            days = window(EVENT_WINDOW, now.astimezone(tenants[s.tenant][0]).date())
            first, last = days.first, days.last
            group = (s.tenant, s.dimension)
            if group not in breakdowns:
                breakdowns[group] = await scores.nps_breakdown(
                    session, tenant=s.tenant, dimension=s.dimension, window=days
                )
            f = breakdowns[group].figures.get(s.value, Figures())
            event = _event(s, s.changes, EVENT_WINDOW, first, last, now, f)
            events.append(OutboxEvent(event.event_id, s.tenant, event.key, event.to_bytes()))
        return events

    async def _enps_events(
        self, session: AsyncSession, tenant: str, zone: ZoneInfo, k: int, now: datetime
    ) -> list[OutboxEvent]:
        await blocks.publish_ready(session, tenant, k)
        cell = Cell.containing("month", now.astimezone(zone).date())
        (current,) = await scores.enps_cells(session, tenant=tenant, cells=[cell], k=k)
        sequence = await blocks.enps_publications(session, tenant)
        events = []
        for state in await repository.segment_states(session, tenant, "enps"):
            if state.value not in current.figures.get(state.dimension, {}):
                continue
            figures = current.shown(state.dimension, state.value)
            reason = current.reason(state.dimension, state.value)
            said = _fingerprint(cell, figures, reason)
            if state.shown_figures == said:
                continue
            state.shown_figures = said
            event = _event(
                state, sequence, "month", cell.first_day, cell.last_day, now, figures,
                cell=cell.name, as_of=current.as_of, reason=reason,
            )  # fmt: skip
            events.append(OutboxEvent(event.event_id, tenant, event.key, event.to_bytes()))
        return events


def _fingerprint(cell: Cell, figures: Figures | None, reason: Reason | None) -> str:
    if figures is None:
        return f"{cell.name}:{reason}"
    return f"{cell.name}:{figures.promoters}:{figures.passives}:{figures.detractors}"


def _event(
    s: SegmentState,
    sequence: int,
    window: str,
    first: date,
    last: date,
    now: datetime,
    figures: Figures | None,
    *,
    cell: str | None = None,
    as_of: datetime | None = None,
    reason: Reason | None = None,
) -> ScoresChanged:
    """The event of one segment: its figures, or (`figures` None) that it is suppressed."""
    interval = None if figures is None else figures.interval()
    return ScoresChanged(
        event_id=scores_event_id(s.tenant, s.kind, s.dimension, s.value, sequence),
        tenant=s.tenant,
        kind=s.kind,
        dimension=s.dimension,
        value=s.value,
        window=window,
        first_day=first,
        last_day=last,
        sequence=sequence,
        suppressed=figures is None,
        suppressed_reason=reason,
        cell=cell,
        as_of=as_of,
        computed_at=now,
        **(
            {}
            if figures is None
            else {
                "n": figures.n,
                "promoters": figures.promoters,
                "passives": figures.passives,
                "detractors": figures.detractors,
                "nps": None if figures.nps is None else round(figures.nps, 2),
                "interval_low": None if interval is None else round(interval.low, 2),
                "interval_high": None if interval is None else round(interval.high, 2),
            }
        ),
    )
