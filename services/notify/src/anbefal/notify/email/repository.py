"""The email outbox's SQL: writing mail, the delivery log, and the sender's marks."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import ARRAY, Text, any_, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.arrays import insert_rows
from anbefal.common.worker import wake_on_commit
from anbefal.notify import repository
from anbefal.notify.models import Email

# The email worker's wake-up: a commit that queued mail wakes this process's sender.
SENDER = "email-sender"


async def insert_emails(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """Writes the mails not written yet (keyed by `action_id`); returns how many were new, and
    wakes the sender when any is pending. A concurrent writer of the same key waits for the
    other's commit and writes nothing, so the count is true even when two copies write at once."""
    if not rows:
        return 0
    tail = "ON CONFLICT (action_id) DO NOTHING RETURNING action_id"
    written = (await insert_rows(session, Email, rows, tail)).all()
    # Only pending mail is the sender's work: a batch whose mail all ended as it was written
    # (no address, a cancelled action) would wake it for a transaction that finds nothing.
    if any(row.get("status", "pending") == "pending" for row in rows):
        wake_on_commit(session, SENDER)
    return len(written)


async def get_email(session: AsyncSession, tenant: str, email_id: uuid.UUID) -> Email | None:
    result: Email | None = await session.scalar(
        select(Email).where(Email.id == email_id, Email.tenant == tenant)
    )
    return result


async def claim_due_emails(session: AsyncSession, limit: int) -> list[Email]:
    return await repository.claim_due(session, Email, limit)


async def respondent_mail_sent_to(
    session: AsyncSession, addresses: set[str], within: timedelta
) -> dict[str, int]:
    """Respondent-facing mail (the mail with an unsubscribe link) sent to each of these
    addresses, lower-cased, any case, over every tenant, in the last `within`; in one query."""
    if not addresses:
        return {}
    address = func.lower(Email.recipient)
    rows = await session.execute(
        select(address, func.count())
        .where(
            address == any_(cast(sorted(a.lower() for a in addresses), ARRAY(Text))),
            Email.status == "sent",
            Email.unsubscribe_url.is_not(None),
            Email.sent_at > func.now() - within,
        )
        .group_by(address)
    )
    return {a: int(n) for a, n in rows}


async def cancel_pending_emails(session: AsyncSession, action_ids: Sequence[uuid.UUID]) -> None:
    await repository.cancel_pending(
        session, Email.action_id, action_ids, "the action was cancelled"
    )
