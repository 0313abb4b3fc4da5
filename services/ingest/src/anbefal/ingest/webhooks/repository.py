"""The fetch queue's SQL: thin webhooks waiting for their answer to be read from the tool."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.ingest.models import FetchJob


async def add_fetch_job(
    session: AsyncSession,
    *,
    tenant: str,
    source: str,
    survey_id: str,
    response_id: str,
    trace_id: str,
) -> int:
    job = FetchJob(
        tenant=tenant,
        source=source,
        survey_id=survey_id,
        response_id=response_id,
        trace_id=trace_id,
    )
    session.add(job)
    await session.flush()
    return job.id


async def claim_fetch_job(session: AsyncSession) -> FetchJob | None:
    """The next due job, locked; other ingest copies skip it."""
    return await session.scalar(
        select(FetchJob)
        .where(FetchJob.status == "pending", FetchJob.next_attempt_at <= datetime.now(UTC))
        .order_by(FetchJob.next_attempt_at)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
