"""What closed_loop forgets, and when: an answer, the actions decided on it and their published
outbox events lose the respondent's identity once the tenant's `answers_retention_days` have
passed since the answer (common/retention.py runs these daily).

An anonymised row keeps its scores, times, segments, rule and state, so the rules dry run, the
action model and every count read the same as before; the respondent becomes a key of the row's
own (`erased:<row id>`), so the row no longer links to the person or to their later answers.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.closed_loop.models import OUTBOX, ActionRow, AnswerRow, Tenant
from anbefal.closed_loop.privacy.erasure import erase_action, erase_answer
from anbefal.common.retention import Anonymiser, Expiry, default_days, each, expired, is_erased

SETTING = "answers_retention_days"


ANSWERS = Expiry(
    AnswerRow, Tenant, SETTING, AnswerRow.answered_at,
    (~is_erased(AnswerRow.response["respondent"]["key"].astext),), each(erase_answer),
)  # fmt: skip
ACTIONS = Expiry(
    ActionRow, Tenant, SETTING, ActionRow.answered_at, (~is_erased(ActionRow.respondent_key),),
    each(erase_action),
)  # fmt: skip


async def expire_outbox(session: AsyncSession, now: datetime, limit: int) -> int:
    """Published action events past the retention are deleted: the relay is done with them,
    and a copy of the action is all they are."""
    ids = select(OUTBOX.c.id).outerjoin(Tenant, Tenant.tenant == OUTBOX.c.tenant)
    ids = ids.where(
        OUTBOX.c.published_at.is_not(None),
        expired(OUTBOX.c.created_at, Tenant.answers_retention_days, default_days(SETTING), now),
    ).limit(limit)
    gone: list[uuid.UUID] = list((await session.scalars(ids)).all())
    if gone:
        await session.execute(delete(OUTBOX).where(OUTBOX.c.id.in_(gone)))
    return len(gone)


def anonymisers() -> Mapping[str, Anonymiser]:
    return {"answers": ANSWERS, "actions": ACTIONS, "outbox": expire_outbox}
