"""All of closed_loop's SQL."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.closed_loop.models import OUTBOX, Evaluated, Tenant
from anbefal.closed_loop.rules import TenantDefaults
from anbefal.common import topics
from anbefal.common.db import upsert_latest
from anbefal.common.events import Action, SurveyResponse, TenantSettings
from anbefal.common.outbox import OutboxEvent, enqueue


async def upsert_tenants(session: AsyncSession, settings: Sequence[TenantSettings]) -> None:
    rows = [
        {
            "tenant": s.tenant,
            "default_director": s.default_director,
            "default_salesperson": s.default_salesperson,
            "follow_up_days": s.follow_up_days,
            "time_zone": s.time_zone,
        }
        for s in settings
    ]
    await upsert_latest(session, Tenant, rows, "tenant")


async def tenant_defaults(session: AsyncSession, tenants: set[str]) -> dict[str, TenantDefaults]:
    rows = await session.execute(select(Tenant).where(Tenant.tenant.in_(tenants)))
    found = {
        t.tenant: TenantDefaults(t.default_director, t.default_salesperson, t.follow_up_days)
        for t in rows.scalars()
    }
    return {t: found.get(t, TenantDefaults()) for t in tenants}


async def claim_new(session: AsyncSession, responses: Sequence[SurveyResponse]) -> set[uuid.UUID]:
    """Record the (answer, version) pairs as evaluated; returns the event ids not seen before."""
    if not responses:
        return set()
    stmt = (
        insert(Evaluated)
        .values(
            [{"event_id": r.event_id, "version": r.version, "tenant": r.tenant} for r in responses]
        )
        .on_conflict_do_nothing()
        .returning(Evaluated.event_id)
    )
    return set((await session.scalars(stmt)).all())


async def add_to_outbox(
    session: AsyncSession, actions: Sequence[Action], trace_ids: dict[uuid.UUID, str | None]
) -> None:
    # The action id is UUID5(answer, rule): deciding the same answer twice stores one row.
    events = [
        OutboxEvent(a.action_id, a.tenant, a.key, a.to_bytes(), trace_ids.get(a.response_event_id))
        for a in actions
    ]
    await enqueue(session, OUTBOX, topics.ACTIONS, events)
