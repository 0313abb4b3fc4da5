"""Email's operations: queueing composed mail, cancelling what is not sent, the delivery log."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.errors import NotFound
from anbefal.notify.email import repository
from anbefal.notify.models import Email
from anbefal.notify.repository import LogPage, delivery_log


async def queue(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Write composed mail (`compose`) to the outbox; a row whose key is there already is not
    written again. The sender worker sends it once the caller's transaction commits."""
    await repository.insert_emails(session, rows)


async def cancel(session: AsyncSession, action_ids: Sequence[uuid.UUID]) -> None:
    """The mail of these cancelled actions is not sent, unless it went already."""
    await repository.cancel_pending_emails(session, action_ids)


async def log(session: AsyncSession, tenant: str, limit: int, cursor: str | None) -> LogPage[Email]:
    return await delivery_log(session, Email, tenant, cursor, limit)


async def get(session: AsyncSession, tenant: str, email_id: uuid.UUID) -> Email:
    email = await repository.get_email(session, tenant, email_id)
    if email is None:
        # Also for another tenant's ids: never confirm they exist.
        raise NotFound("no such email")
    return email
