"""The kept refusals' SQL."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.ingest.models import Rejected, UnverifiedDelivery

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


def kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() in _KEPT_HEADERS}


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
    enps: bool = False,
) -> int:
    row = Rejected(
        tenant=tenant,
        source=source,
        status_code=status_code,
        reason=reason,
        details=details,
        headers=kept_headers(headers),
        body=body,
        verified=verified,
        enps=enps,
    )
    session.add(row)
    await session.flush()
    return row.id


async def list_rejected(
    session: AsyncSession,
    tenant: str,
    *,
    limit: int,
    before_id: int | None,
    source: str | None = None,
) -> list[Rejected]:
    return await _newest_first(session, Rejected, tenant, limit, before_id, source)


Row = TypeVar("Row", Rejected, UnverifiedDelivery)


async def _newest_first(
    session: AsyncSession,
    model: type[Row],
    tenant: str,
    limit: int,
    before_id: int | None,
    source: str | None = None,
) -> list[Row]:
    """A page of the tenant's rows (of one source if given), newest first, older than
    `before_id` if given."""
    query = select(model).where(model.tenant == tenant)
    if source is not None:
        query = query.where(model.source == source)
    if before_id is not None:
        query = query.where(model.id < before_id)
    return list(await session.scalars(query.order_by(model.id.desc()).limit(limit)))


async def get_rejected(session: AsyncSession, tenant: str, rejected_id: int) -> Rejected | None:
    return await session.scalar(
        select(Rejected).where(Rejected.tenant == tenant, Rejected.id == rejected_id)
    )


async def mark_replayed(session: AsyncSession, rejected_id: int) -> None:
    await session.execute(
        update(Rejected).where(Rejected.id == rejected_id).values(replayed_at=datetime.now(UTC))
    )


async def note_unverified(session: AsyncSession, line: UnverifiedDelivery) -> None:
    session.add(line)
    await session.flush()


async def list_unverified(
    session: AsyncSession, tenant: str, *, limit: int, before_id: int | None
) -> list[UnverifiedDelivery]:
    return await _newest_first(session, UnverifiedDelivery, tenant, limit, before_id)
