"""closed_loop's consumer handler: evaluate each new answer version against the rules."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.closed_loop import repository
from anbefal.closed_loop.rules import decide
from anbefal.common.events import SurveyResponse, TenantSettings
from anbefal.common.kafka import Message


async def handle(session: AsyncSession, messages: Sequence[Message]) -> None:
    settings = [m.event for m in messages if isinstance(m.event, TenantSettings)]
    if settings:
        await repository.upsert_tenants(session, settings)
    responses: dict[tuple[uuid.UUID, int], SurveyResponse] = {}
    traces: dict[uuid.UUID, str | None] = {}
    for m in messages:
        if isinstance(m.event, SurveyResponse):
            responses[(m.event.event_id, m.event.version)] = m.event
            traces[m.event.event_id] = m.trace_id
    if not responses:
        return
    new_ids = await repository.claim_new(session, list(responses.values()))
    fresh = [r for r in responses.values() if r.event_id in new_ids]
    if not fresh:
        return
    tenants = {r.tenant for r in fresh}
    defaults = await repository.tenant_defaults(session, tenants)
    rule_sets = await repository.rule_sets(session, tenants)
    now = datetime.now(UTC)
    actions = [
        a for r in fresh for a in decide(r, defaults[r.tenant], now, rule_sets[r.tenant].rules)
    ]
    await repository.add_to_outbox(session, actions, traces)
