"""The audit trail's SQL."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.events import AuditEntry
from anbefal.notify.models import AuditRow


async def save(session: AsyncSession, entries: Sequence[AuditEntry]) -> None:
    """Store the entries; one already stored (a redelivery, a relay's republish) is skipped."""
    if not entries:
        return
    rows = [
        {
            "event_id": e.event_id,
            "tenant": e.tenant,
            "at": e.at,
            "actor_sub": e.actor.sub,
            "actor_role": e.actor.role,
            "kind": e.kind,
            "action": e.action,
            "target": e.target,
            "detail": e.detail,
        }
        for e in entries
    ]
    await session.execute(insert(AuditRow).values(rows).on_conflict_do_nothing())


async def latest_settings(session: AsyncSession, tenant: str) -> dict[str, Any] | None:
    """The detail of the tenant's newest settings entry, if any (not the chat webhook's, which
    is a `tenant` entry too)."""
    detail: dict[str, Any] | None = await session.scalar(
        select(AuditRow.detail)
        .where(AuditRow.tenant == tenant, AuditRow.kind == "tenant", AuditRow.target == "settings")
        .order_by(AuditRow.at.desc(), AuditRow.event_id.desc())
        .limit(1)
    )
    return detail


async def page(
    session: AsyncSession,
    tenant: str,
    *,
    kind: str | None,
    start: datetime | None,
    end: datetime | None,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[AuditRow]:
    """Up to `limit` of the tenant's entries, newest first, older than `before` (the cursor)."""
    query = select(AuditRow).where(AuditRow.tenant == tenant)
    if kind is not None:
        query = query.where(AuditRow.kind == kind)
    if start is not None:
        query = query.where(AuditRow.at >= start)
    if end is not None:
        query = query.where(AuditRow.at < end)
    if before is not None:
        query = query.where(tuple_(AuditRow.at, AuditRow.event_id) < tuple_(*before))
    query = query.order_by(AuditRow.at.desc(), AuditRow.event_id.desc()).limit(limit)
    return list((await session.scalars(query)).all())
