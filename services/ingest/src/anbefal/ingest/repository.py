"""All of ingest's SQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.ingest.models import FetchJob, Rejected, SeenAnswer, SourceRow

# Headers worth keeping with a rejected body; never Authorization, cookies or tokens.
_KEPT_HEADERS = frozenset(
    {
        "content-type",
        "user-agent",
        "content-length",
        "x-request-id",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "typeform-signature",
        "tally-signature",
        "x-delighted-webhook-signature",
        "sm-signature",
        "sm-apikey",
    }
)


async def store_rejected(
    session: AsyncSession,
    *,
    tenant: str,
    source: str,
    status_code: int,
    reason: str,
    details: list[dict[str, Any]],
    headers: dict[str, str],
    body: bytes,
    verified: bool,
) -> int:
    row = Rejected(
        tenant=tenant,
        source=source,
        status_code=status_code,
        reason=reason,
        details=details,
        headers={k: v for k, v in headers.items() if k.lower() in _KEPT_HEADERS},
        body=body,
        verified=verified,
    )
    session.add(row)
    await session.flush()
    return row.id


async def list_rejected(
    session: AsyncSession, tenant: str, *, limit: int, before_id: int | None
) -> list[Rejected]:
    query = select(Rejected).where(Rejected.tenant == tenant)
    if before_id is not None:
        query = query.where(Rejected.id < before_id)
    rows = await session.scalars(query.order_by(Rejected.id.desc()).limit(limit))
    return list(rows)


async def get_rejected(session: AsyncSession, tenant: str, rejected_id: int) -> Rejected | None:
    return await session.scalar(
        select(Rejected).where(Rejected.tenant == tenant, Rejected.id == rejected_id)
    )


async def mark_replayed(session: AsyncSession, rejected_id: int) -> None:
    await session.execute(
        update(Rejected).where(Rejected.id == rejected_id).values(replayed_at=datetime.now(UTC))
    )


async def prune(session: AsyncSession, *, seen_days: int, rejected_days: int) -> int:
    now = datetime.now(UTC)
    seen = await session.execute(
        delete(SeenAnswer).where(SeenAnswer.seen_at < now - timedelta(days=seen_days))
    )
    rejected = await session.execute(
        delete(Rejected).where(Rejected.received_at < now - timedelta(days=rejected_days))
    )
    return int(seen.rowcount or 0) + int(rejected.rowcount or 0)  # type: ignore[attr-defined]


async def upsert_source(
    session: AsyncSession,
    *,
    tenant: str,
    name: str,
    tool: str,
    config: dict[str, Any],
    secret: str,
    api_token: str | None,
    by: str,
) -> None:
    values = {
        "tool": tool,
        "config": config,
        "secret": secret,
        "api_token": api_token,
        "updated_by": by,
        "updated_at": datetime.now(UTC),
    }
    await session.execute(
        insert(SourceRow)
        .values(tenant=tenant, name=name, **values)
        .on_conflict_do_update(index_elements=["tenant", "name"], set_=values)
    )


async def get_source(session: AsyncSession, tenant: str, name: str) -> SourceRow | None:
    return await session.get(SourceRow, (tenant, name))


async def list_sources(session: AsyncSession, tenant: str) -> list[SourceRow]:
    rows = await session.scalars(
        select(SourceRow).where(SourceRow.tenant == tenant).order_by(SourceRow.name)
    )
    return list(rows)


async def delete_source(session: AsyncSession, tenant: str, name: str) -> bool:
    result = await session.execute(
        delete(SourceRow).where(SourceRow.tenant == tenant, SourceRow.name == name)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


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
