"""Scoring's consumer handler: answers into daily buckets, tenant settings into `tenants`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.events import SurveyResponse, TenantSettings
from anbefal.common.kafka import Message
from anbefal.scoring import repository


async def handle(
    session: AsyncSession, messages: Sequence[Message], *, default_time_zone: str
) -> None:
    settings = [m.event for m in messages if isinstance(m.event, TenantSettings)]
    if settings:
        await repository.upsert_tenants(session, settings)
    newest: dict[uuid.UUID, SurveyResponse] = {}
    for m in messages:
        event = m.event
        if isinstance(event, SurveyResponse):
            seen = newest.get(event.event_id)
            if seen is None or event.version > seen.version:
                newest[event.event_id] = event
    if newest:
        await repository.apply_answers(session, list(newest.values()), default_time_zone)
