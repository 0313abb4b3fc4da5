"""What ingest forgets, and when: dedupe keys after the tools' retry window, kept refusals
after ops had their time with them (sooner for eNPS answers), the sampled lines about
unverified deliveries after a week."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, or_
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.ingest.models import Rejected, SeenAnswer, UnverifiedDelivery


async def prune(
    session: AsyncSession,
    *,
    seen_days: int,
    rejected_days: int,
    enps_rejected_days: int,
    unverified_days: int = 7,
    now: datetime | None = None,
) -> int:
    now = now or datetime.now(UTC)
    seen = await session.execute(
        delete(SeenAnswer).where(SeenAnswer.seen_at < now - timedelta(days=seen_days))
    )
    rejected = await session.execute(
        delete(Rejected).where(
            or_(
                Rejected.received_at < now - timedelta(days=rejected_days),
                Rejected.enps & (Rejected.received_at < now - timedelta(days=enps_rejected_days)),
            )
        )
    )
    unverified = await session.execute(
        delete(UnverifiedDelivery).where(
            UnverifiedDelivery.received_at < now - timedelta(days=unverified_days)
        )
    )
    counts = [r.rowcount for r in (seen, rejected, unverified)]  # type: ignore[attr-defined]
    return sum(int(n or 0) for n in counts)
