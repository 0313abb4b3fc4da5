"""The fetch queue's SQL: thin webhooks waiting for their answer to be read from the tool."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime, timedelta

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


async def lease_fetch_job(
    session: AsyncSession, *, lease: timedelta, skip_tenants: Collection[str]
) -> FetchJob | None:
    """The next due job of a tenant not in `skip_tenants`, leased: its attempt is counted and it
    is not due again until the lease ends, so the fetch itself runs outside any transaction and
    a copy that dies mid-fetch leaves it to be taken again. Other copies skip it while locked."""
    now = datetime.now(UTC)
    query = select(FetchJob).where(FetchJob.status == "pending", FetchJob.next_attempt_at <= now)
    if skip_tenants:
        query = query.where(FetchJob.tenant.not_in(list(skip_tenants)))
    job = await session.scalar(
        query.order_by(FetchJob.next_attempt_at).limit(1).with_for_update(skip_locked=True)
    )
    if job is not None:
        job.attempts += 1
        job.next_attempt_at = now + lease
        await session.flush()
    return job


async def leased_job(session: AsyncSession, job_id: int, attempts: int) -> FetchJob | None:
    """The job, locked, if it is still the lease taken at `attempts` (not taken again by another
    copy after the lease ran out, nor finished)."""
    return await session.scalar(
        select(FetchJob)
        .where(FetchJob.id == job_id, FetchJob.attempts == attempts, FetchJob.status == "pending")
        .with_for_update()
    )
