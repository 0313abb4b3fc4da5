"""The email outbox's SQL: writing mail, the delivery log, and the sender's marks."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.arrays import insert_rows
from anbefal.common.worker import wake_on_commit
from anbefal.notify import repository
from anbefal.notify.models import Email

# The email worker's wake-up: a commit that queued mail wakes this process's sender.
SENDER = "email-sender"


async def insert_emails(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """Writes the mails not written yet (keyed by `action_id`); returns how many were new. A
    concurrent writer of the same key waits for the other's commit and writes nothing, so the
    count is true even when two copies write at once."""
    if not rows:
        return 0
    tail = "ON CONFLICT (action_id) DO NOTHING RETURNING action_id"
    written = (await insert_rows(session, Email, rows, tail)).all()
    wake_on_commit(session, SENDER)
    return len(written)


async def get_email(session: AsyncSession, tenant: str, email_id: uuid.UUID) -> Email | None:
    result: Email | None = await session.scalar(
        select(Email).where(Email.id == email_id, Email.tenant == tenant)
    )
    return result


async def claim_due_emails(session: AsyncSession, limit: int) -> list[Email]:
    return await repository.claim_due(session, Email, limit)


async def mark_sent(session: AsyncSession, email_ids: Sequence[uuid.UUID]) -> None:
    """The batch's sent mail, in one statement."""
    await repository.mark_sent(session, Email, email_ids)


async def mark_suppressed(session: AsyncSession, email_id: uuid.UUID) -> None:
    await session.execute(
        update(Email)
        .where(Email.id == email_id)
        .values(status="suppressed", last_error="the recipient unsubscribed")
    )


async def respondent_mail_sent_to(session: AsyncSession, address: str, within: timedelta) -> int:
    """Respondent-facing mail (the mail with an unsubscribe link) sent to `address`, any case,
    over every tenant, in the last `within`."""
    count = await session.scalar(
        select(func.count())
        .select_from(Email)
        .where(
            func.lower(Email.recipient) == address.lower(),
            Email.status == "sent",
            Email.unsubscribe_url.is_not(None),
            Email.sent_at > func.now() - within,
        )
    )
    return int(count or 0)


async def mark_skipped(session: AsyncSession, email_id: uuid.UUID, reason: str) -> None:
    await session.execute(
        update(Email).where(Email.id == email_id).values(status="skipped", last_error=reason)
    )


async def cancel_pending_emails(session: AsyncSession, action_ids: Sequence[uuid.UUID]) -> None:
    await repository.cancel_pending(
        session, Email.action_id, action_ids, "the action was cancelled"
    )
