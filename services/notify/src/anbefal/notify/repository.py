"""notify's shared SQL: the tenant projection and what the outboxes (emails, chat posts) share.

Each feature keeps its own SQL in its own `repository.py`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql import func

from anbefal.notify.models import TENANTS, ChatMessage, Email, StaffUser, Suppression, Tenant

Delivery = Email | ChatMessage
D = TypeVar("D", Email, ChatMessage)


async def tenants(session: AsyncSession, names: set[str]) -> dict[str, Tenant]:
    return await TENANTS.load(session, names)


async def claim_due(session: AsyncSession, model: type[D], limit: int) -> list[D]:
    """Pending outbox rows whose time has come, locked: several notify copies share the work."""
    query = (
        select(model)
        .where(model.status == "pending", model.next_attempt_at <= func.now())
        .order_by(model.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(await session.scalars(query))


async def mark_sent(
    session: AsyncSession, model: type[Delivery], row_ids: Sequence[uuid.UUID]
) -> None:
    if not row_ids:
        return
    await session.execute(
        update(model)
        .where(model.id.in_(row_ids))
        .values(status="sent", sent_at=func.now(), attempts=model.attempts + 1, last_error=None)
    )


async def mark_failed_attempt(
    session: AsyncSession,
    row: Delivery,
    error: str,
    *,
    permanent: bool,
    max_attempts: int,
    now: datetime,
    at_least: timedelta = timedelta(0),
) -> None:
    """Count a failed delivery of an outbox row: back off, or give up for good (`failed`)."""
    model = type(row)
    attempts = row.attempts + 1
    give_up = permanent or attempts >= max_attempts
    # Exponential backoff: 2, 4, 8 ... seconds, capped at an hour (or what the far end asked).
    delay = max(timedelta(seconds=min(3600, 2**attempts)), at_least)
    await session.execute(
        update(model)
        .where(model.id == row.id)
        .values(
            status="failed" if give_up else "pending",
            attempts=attempts,
            last_error=error[:2000],
            next_attempt_at=now + delay,
        )
    )


async def cancel_pending(
    session: AsyncSession, by: InstrumentedAttribute[uuid.UUID], ids: Sequence[uuid.UUID], why: str
) -> None:
    """Outbox rows (emails, chat posts) not sent yet are not sent at all; sent ones stay."""
    if ids:
        model = by.class_
        await session.execute(
            update(model)
            .where(by.in_(ids), model.status == "pending")
            .values(status="cancelled", last_error=why)
        )


async def present(
    session: AsyncSession, model: type[Suppression] | type[StaffUser], pairs: set[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Which of these (tenant, lower-cased address) pairs have a row in `model`."""
    if not pairs:
        return set()
    rows = await session.execute(
        select(model.tenant, model.email).where(tuple_(model.tenant, model.email).in_(pairs))
    )
    return {(t, e) for t, e in rows}
