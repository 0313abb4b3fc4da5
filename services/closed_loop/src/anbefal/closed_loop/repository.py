"""All of closed_loop's SQL."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.closed_loop.models import OUTBOX, Evaluated, RuleSetHistory, RuleSetRow, Tenant
from anbefal.closed_loop.rules import DEFAULT_RULE_SET, RuleSet, TenantDefaults
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


async def rule_sets(session: AsyncSession, tenants: set[str]) -> dict[str, RuleSet]:
    rows = await session.execute(
        select(RuleSetRow.tenant, RuleSetRow.rule_set).where(RuleSetRow.tenant.in_(tenants))
    )
    found = {t: RuleSet.model_validate(doc) for t, doc in rows}
    return {t: found.get(t, DEFAULT_RULE_SET) for t in tenants}


async def current_rule_set(session: AsyncSession, tenant: str) -> RuleSetRow | None:
    row: RuleSetRow | None = await session.get(RuleSetRow, tenant)
    return row


async def save_rule_set(session: AsyncSession, tenant: str, rule_set: RuleSet, who: str) -> int:
    """Store a new version (row lock: two admins saving at once get versions n+1 and n+2)."""
    current = await session.get(RuleSetRow, tenant, with_for_update=True)
    version = (current.version if current else 0) + 1
    doc = rule_set.model_dump(mode="json")
    if current is None:
        session.add(RuleSetRow(tenant=tenant, version=version, rule_set=doc, updated_by=who))
    else:
        current.version, current.rule_set, current.updated_by = version, doc, who
        current.updated_at = func.now()
    session.add(RuleSetHistory(tenant=tenant, version=version, rule_set=doc, updated_by=who))
    await session.flush()
    return version


async def rule_set_history(session: AsyncSession, tenant: str, limit: int) -> list[RuleSetHistory]:
    rows = await session.scalars(
        select(RuleSetHistory)
        .where(RuleSetHistory.tenant == tenant)
        .order_by(RuleSetHistory.version.desc())
        .limit(limit)
    )
    return list(rows)
