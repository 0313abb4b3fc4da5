"""What ingest forgets, and when: dedupe keys after the tools' retry window, kept refusals
after ops had their time with them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.ingest.models import Rejected, SeenAnswer


async def prune(session: AsyncSession, *, seen_days: int, rejected_days: int) -> int:
    now = datetime.now(UTC)
    seen = await session.execute(
        delete(SeenAnswer).where(SeenAnswer.seen_at < now - timedelta(days=seen_days))
    )
    rejected = await session.execute(
        delete(Rejected).where(Rejected.received_at < now - timedelta(days=rejected_days))
    )
    return int(seen.rowcount or 0) + int(rejected.rowcount or 0)  # type: ignore[attr-defined]
