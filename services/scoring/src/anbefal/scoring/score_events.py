"""The score event scheduler: turns changed segments into `anbefal.scores.v1` events in the
outbox, throttled, and moves the published eNPS figures on. (The outbox relay publishes them;
this worker never talks to Kafka.)

The consumer only counts, per segment, the answers that changed it and stamps the first
unreported change (`segment_state.dirty_since`). This worker looks at a segment `interval_s`
after that stamp, so the changes of those seconds coalesce into one event and a segment's
events are at least `interval_s` apart. In the same transaction it

- for eNPS, copies the segment's live buckets to the published ones only if at least k answers
  changed it since the last copy (otherwise nothing moved, and no event leaves);
- writes the events into the outbox (docs/architecture.md §4); the relay publishes them, so a crash
  between the decision and the broker loses nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anbefal.common import topics
from anbefal.common.events import ScoresChanged, scores_event_id
from anbefal.common.outbox import OutboxEvent, enqueue
from anbefal.common.worker import PollingWorker
from anbefal.scoring import repository, scores
from anbefal.scoring.anonymity import effective_k
from anbefal.scoring.models import OUTBOX, SegmentState
from anbefal.scoring.nps import Figures
from anbefal.scoring.windows import window_days

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
        after_commit: Callable[[], None],
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
            after_commit=after_commit,
        )

    async def schedule_once(self, session: AsyncSession) -> int:
        """Handle one batch of due segments; returns how many it looked at."""
        due = await repository.due_segments(session, quiet_s=self._interval_s, limit=self._batch)
        if not due:
            return 0
        tenants = await repository.scoring_settings(
            session, {s.tenant for s in due}, self._default_time_zone, self._default_k
        )
        moved = [
            s
            for s in due
            if s.kind != "enps"
            or s.changes - s.published_changes >= effective_k(tenants[s.tenant][1])
        ]
        await repository.publish_buckets(session, [s for s in moved if s.kind == "enps"])
        events = await self._events(session, moved, tenants)
        await enqueue(session, OUTBOX, topics.SCORES, events)
        await repository.mark_reported(session, due, [s for s in moved if s.kind == "enps"])
        return len(due)

    async def _events(
        self,
        session: AsyncSession,
        states: list[SegmentState],
        tenants: dict[str, tuple[ZoneInfo, int]],
    ) -> list[OutboxEvent]:
        now = datetime.now(UTC)
        # One breakdown per (tenant, kind, dimension) serves every segment of it in the batch.
        breakdowns: dict[tuple[str, str, str], scores.Breakdown] = {}
        events = []
        for s in states:
            zone, k = tenants[s.tenant]
            first, last = window_days(EVENT_WINDOW, now.astimezone(zone).date())
            group = (s.tenant, s.kind, s.dimension)
            if group not in breakdowns:
                breakdowns[group] = await scores.breakdown(
                    session,
                    tenant=s.tenant,
                    kind=s.kind,
                    dimension=s.dimension,
                    first=first,
                    last=last,
                    k=k,
                )
            shown = breakdowns[group]
            f = shown.figures.get(s.value, Figures())
            suppressed = shown.hides(s.value, f)
            interval = None if suppressed else f.interval()
            event = ScoresChanged(
                event_id=scores_event_id(s.tenant, s.kind, s.dimension, s.value, s.changes),
                tenant=s.tenant,
                kind=s.kind,
                dimension=s.dimension,
                value=s.value,
                window=EVENT_WINDOW,
                first_day=first,
                last_day=last,
                sequence=s.changes,
                suppressed=suppressed,
                computed_at=now,
                **(
                    {}
                    if suppressed
                    else {
                        "n": f.n,
                        "promoters": f.promoters,
                        "passives": f.passives,
                        "detractors": f.detractors,
                        "nps": None if f.nps is None else round(f.nps, 2),
                        "interval_low": None if interval is None else round(interval.low, 2),
                        "interval_high": None if interval is None else round(interval.high, 2),
                    }
                ),
            )
            events.append(OutboxEvent(event.event_id, s.tenant, event.key, event.to_bytes()))
        return events
