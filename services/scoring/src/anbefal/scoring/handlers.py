"""Scoring's consumer handlers: answers into daily buckets (tenant settings are saved into
`tenants` by the loop, through `TENANTS`)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from functools import partial

from anbefal.common.events import SurveyResponse
from anbefal.common.kafka import HandlerContext, Subscriptions
from anbefal.scoring import repository
from anbefal.scoring.models import TENANTS, Tenant


async def handle_answers(
    ctx: HandlerContext[Tenant], answers: Sequence[SurveyResponse], *, default_time_zone: str
) -> None:
    newest: dict[uuid.UUID, SurveyResponse] = {}
    for answer in answers:
        seen = newest.get(answer.event_id)
        if seen is None or answer.version > seen.version:
            newest[answer.event_id] = answer
    await repository.apply_answers(ctx.session, list(newest.values()), default_time_zone)


def subscriptions(default_time_zone: str) -> Subscriptions[Tenant]:
    return Subscriptions(
        {SurveyResponse: partial(handle_answers, default_time_zone=default_time_zone)},
        tenants=TENANTS,
    )
