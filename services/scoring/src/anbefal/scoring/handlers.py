"""Scoring's consumer handlers: answers into daily buckets (tenant settings are saved into
`tenants` by the loop, through `TENANTS`), and a person's erasure (`privacy/`)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from functools import partial

from anbefal.common.crypto import Keyring
from anbefal.common.datakeys import DataKeys
from anbefal.common.erasure import erasure_handler
from anbefal.common.events import ErasureRequested, SurveyResponse
from anbefal.common.kafka import HandlerContext, Subscriptions
from anbefal.common.services import SCORING
from anbefal.scoring import repository
from anbefal.scoring.models import OUTBOX, TENANTS, Tenant
from anbefal.scoring.privacy import erasure


async def handle_answers(
    ctx: HandlerContext[Tenant],
    answers: Sequence[SurveyResponse],
    *,
    default_time_zone: str,
    keyring: Keyring,
) -> None:
    newest: dict[uuid.UUID, SurveyResponse] = {}
    for answer in answers:
        seen = newest.get(answer.event_id)
        if seen is None or answer.version > seen.version:
            newest[answer.event_id] = answer
    latest = list(newest.values())
    await repository.apply_answers(
        ctx.session, latest, default_time_zone, erasure.identities(keyring, latest)
    )


def subscriptions(default_time_zone: str, keyring: Keyring) -> Subscriptions[Tenant]:
    return Subscriptions(
        {
            SurveyResponse: partial(
                handle_answers, default_time_zone=default_time_zone, keyring=keyring
            ),
            ErasureRequested: erasure_handler(SCORING.name, lambda: keyring, erasure.erase, OUTBOX),
        },
        tenants=TENANTS,
        # The answer's address is sealed on the topic; its keyed hash (erasure by email) is
        # made from the opened one.
        keys=DataKeys(keyring),
    )
