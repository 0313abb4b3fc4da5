"""What ingest forgets, and when: dedupe keys after the tools' retry window, kept refusals
after ops had their time with them (sooner for eNPS answers)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, or_
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.ingest.models import Rejected, SeenAnswer


async def prune(
    session: AsyncSession,
    *,
    seen_days: int,
    rejected_days: int,
    enps_rejected_days: int,
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
    return int(seen.rowcount or 0) + int(rejected.rowcount or 0)  # type: ignore[attr-defined]
