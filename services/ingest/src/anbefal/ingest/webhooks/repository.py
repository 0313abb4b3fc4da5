"""The fetch queue's SQL: thin webhooks waiting for their answer to be read from the tool."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.ingest.models import FetchJob

# The jobs that stand for their answer: one at most per answer (a unique partial index).
_LIVE = FetchJob.LIVE


@dataclass(frozen=True)
class Queued:
    job_id: int
    # False: the answer already had a live job (queued, or fetched), and that job is `job_id`.
    new: bool


async def add_fetch_job(
    session: AsyncSession,
    *,
    tenant: str,
    source: str,
    survey_id: str,
    response_id: str,
    trace_id: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Queued:
    """Queue the answer's fetch, unless it is queued or fetched already (a tool's redelivery):
    one statement, so two redeliveries at once still queue one job."""
    answer = {"tenant": tenant, "source": source, "survey_id": survey_id}
    answer["response_id"] = response_id
    job_id = await session.scalar(
        insert(FetchJob)
        .values(**answer, trace_id=trace_id, body=body, headers=headers)
        .on_conflict_do_nothing(index_elements=list(answer), index_where=_LIVE)
        .returning(FetchJob.id)
    )
    if job_id is not None:
        return Queued(job_id, new=True)
    live = await session.scalar(
        select(FetchJob.id).where(*(getattr(FetchJob, k) == v for k, v in answer.items()), _LIVE)
    )
    if live is None:  # given up between the two statements: a new job is due after all
        return await add_fetch_job(session, **answer, trace_id=trace_id, body=body, headers=headers)
    return Queued(live, new=False)


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
