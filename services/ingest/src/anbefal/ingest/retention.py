"""What ingest forgets, and when: dedupe keys after the tools' retry window (and with them the
finished fetch jobs, which are the thin webhooks' dedupe keys), the sampled lines about
unverified deliveries and the sources' delivery counts after a week. Refused bodies go by their
tenant's retention (privacy/retention.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.ingest.models import FetchJob, SeenAnswer, SourceDelivery, UnverifiedDelivery


async def prune(
    session: AsyncSession,
    *,
    seen_days: int,
    unverified_days: int = 7,
    deliveries_days: int = 7,
    now: datetime | None = None,
) -> int:
    now = now or datetime.now(UTC)
    seen_before = now - timedelta(days=seen_days)
    seen = await session.execute(delete(SeenAnswer).where(SeenAnswer.seen_at < seen_before))
    unverified = await session.execute(
        delete(UnverifiedDelivery).where(
            UnverifiedDelivery.received_at < now - timedelta(days=unverified_days)
        )
    )
    finished = await session.execute(
        delete(FetchJob).where(FetchJob.status != "pending", FetchJob.created_at < seen_before)
    )
    deliveries = await session.execute(
        delete(SourceDelivery).where(SourceDelivery.last_at < now - timedelta(days=deliveries_days))
    )
    counts = [r.rowcount for r in (seen, unverified, finished, deliveries)]  # type: ignore[attr-defined]
    return sum(int(n or 0) for n in counts)
