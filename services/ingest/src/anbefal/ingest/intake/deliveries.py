"""How each source's deliveries were answered, for its admin page: counted in memory on the
webhook path (no database work per delivery), written by a worker every
`ingest_delivery_log_flush_s` as one line per source, minute, status and outcome.

Only deliveries to a configured source are counted (an unknown source's are anyone's, and
their sampled lines are in `unverified.py`); each line says how many, and the last one's time
and trace id (the key to ingest's log), never a body or anything about the respondent. A clean
stop writes what it holds; a copy that dies between two writes loses at most that second's
counts: the lines inform, the answers themselves are in Kafka or kept as rejected.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.ingest.models import SourceDelivery

# (tenant, source, minute, status, outcome)
LineKey = tuple[str, str, datetime, int, str]


@dataclass
class _Pending:
    count: int
    last_at: datetime
    last_trace_id: str


class DeliveryLog:
    def __init__(self, max_keys: int) -> None:
        self.max_keys = max_keys
        self._pending: dict[LineKey, _Pending] = {}

    def note(
        self, tenant: str, source: str, status: int, outcome: str, trace_id: str, at: datetime
    ) -> None:
        key = (tenant, source, at.replace(second=0, microsecond=0), status, outcome[:40])
        pending = self._pending.get(key)
        if pending is None:
            if len(self._pending) < self.max_keys:  # beyond: until the next flush, uncounted
                self._pending[key] = _Pending(1, at, trace_id)
        else:
            pending.count += 1
            pending.last_at, pending.last_trace_id = at, trace_id

    async def flush(self, session: AsyncSession) -> int:
        """Add the counts noted since the last flush to their lines (a worker step: 0, so the
        worker then waits its interval)."""
        taken, self._pending = self._pending, {}
        if not taken:
            return 0
        rows = [
            {
                "tenant": tenant, "source": source, "minute": minute, "status_code": status,
                "outcome": outcome, "count": p.count, "last_at": p.last_at,
                "last_trace_id": p.last_trace_id[:64],
            }
            for (tenant, source, minute, status, outcome), p in sorted(taken.items())
        ]  # fmt: skip
        stmt = insert(SourceDelivery).values(rows)
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=["tenant", "source", "minute", "status_code", "outcome"],
                set_={
                    "count": SourceDelivery.count + stmt.excluded.count,
                    "last_at": stmt.excluded.last_at,
                    "last_trace_id": stmt.excluded.last_trace_id,
                },
            )
        )
        return 0


def outcome_of(status: int) -> str:
    """A served delivery's outcome by its status: 202 accepted (or queued to be fetched), 200
    a duplicate (an ignored one is a refusal, noted by its code)."""
    return {202: "accepted", 200: "duplicate", 503: "unavailable"}.get(status, str(status))


async def recent(
    session: AsyncSession, tenant: str, source: str, limit: int
) -> list[SourceDelivery]:
    rows = await session.scalars(
        select(SourceDelivery)
        .where(SourceDelivery.tenant == tenant, SourceDelivery.source == source)
        .order_by(SourceDelivery.last_at.desc())
        .limit(limit)
    )
    return list(rows)
