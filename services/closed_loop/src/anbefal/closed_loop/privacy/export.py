"""closed_loop's part of a person's export: the answers it evaluated, the actions it decided."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.closed_loop.models import ActionRow, AnswerRow
from anbefal.closed_loop.privacy.erasure import actions_naming, answers_naming
from anbefal.common.app.privacy import records
from anbefal.common.crypto import Keyring
from anbefal.common.erasure import Subject


async def collect(
    session: AsyncSession, tenant: str, subject: Subject, keyring: Keyring
) -> dict[str, list[dict[str, Any]]]:
    answers = await session.scalars(
        select(AnswerRow)
        .where(answers_naming(keyring, tenant, subject))
        .order_by(AnswerRow.answered_at)
    )
    actions = await session.scalars(
        select(ActionRow)
        .where(actions_naming(keyring, tenant, subject))
        .order_by(ActionRow.answered_at)
    )
    return {"answers": records(answers), "actions": records(actions)}
