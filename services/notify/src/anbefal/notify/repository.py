"""notify's shared SQL: the tenant projection and what the outboxes (emails, chat posts) share.

Each feature keeps its own SQL in its own `repository.py`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache, partial
from typing import Any, Generic, TypeVar

from sqlalchemy import TextClause, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql import func

from anbefal.common.arrays import as_columns, table_of
from anbefal.common.worker import on_commit
from anbefal.notify import paging
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


@dataclass(frozen=True)
class Outcome:
    """How one outbox row's turn ended: its new status and error; `tried` counts an attempt,
    `next_attempt_at` (when set) is when a pending row is tried again."""

    row_id: uuid.UUID
    status: str
    error: str | None = None
    tried: bool = True
    next_attempt_at: datetime | None = None


def delivered(row: Delivery) -> Outcome:
    return Outcome(row.id, "sent")


def not_sent(row: Delivery, status: str, reason: str) -> Outcome:
    """Decided not to try (unsubscribed, over a cap): no attempt is counted."""
    return Outcome(row.id, status, reason, tried=False)


def failed_attempt(
    row: Delivery,
    error: str,
    *,
    permanent: bool,
    max_attempts: int,
    now: datetime,
    at_least: timedelta = timedelta(0),
) -> Outcome:
    """A failed delivery of an outbox row: back off, or give up for good (`failed`)."""
    attempts = row.attempts + 1
    give_up = permanent or attempts >= max_attempts
    # Exponential backoff: 2, 4, 8 ... seconds, capped at an hour (or what the far end asked).
    delay = max(timedelta(seconds=min(3600, 2**attempts)), at_least)
    return Outcome(row.id, "failed" if give_up else "pending", error[:2000], True, now + delay)


@cache
def _settle_sql(table: str) -> TextClause:
    return text(
        f"UPDATE {table} AS t SET status = o.status, last_error = o.error, "
        "attempts = t.attempts + o.tried, "
        "next_attempt_at = COALESCE(o.next_attempt_at, t.next_attempt_at), "
        "sent_at = CASE WHEN o.status = 'sent' THEN now() ELSE t.sent_at END "
        "FROM unnest(CAST(:row_id AS uuid[]), CAST(:status AS text[]), CAST(:error AS text[]), "
        "CAST(:tried AS int[]), CAST(:next_attempt_at AS timestamptz[])) "
        "AS o(id, status, error, tried, next_attempt_at) WHERE t.id = o.id"
    )


# A retry's wake comes this much after its time: PostgreSQL's clock must have passed it too.
_RETRY_MARGIN_S = 0.1


async def settle(
    session: AsyncSession,
    model: type[Delivery],
    outcomes: Sequence[Outcome],
    wake_in: Callable[[float], None],
) -> None:
    """A worker step's outcomes, whatever they are, in one statement; once it commits, the
    worker is woken (`wake_in`) when the first retry falls due."""
    if not outcomes:
        return
    rows = [(o.row_id, o.status, o.error, int(o.tried), o.next_attempt_at) for o in outcomes]
    columns = as_columns(rows, ("row_id", "status", "error", "tried", "next_attempt_at"))
    await session.execute(_settle_sql(table_of(model).fullname), columns)
    retries = [o.next_attempt_at for o in outcomes if o.status == "pending" and o.next_attempt_at]
    if retries:
        due_s = (min(retries) - datetime.now(UTC)).total_seconds() + _RETRY_MARGIN_S
        on_commit(session, partial(wake_in, due_s))


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


async def log_page(
    session: AsyncSession, model: type[D], tenant: str, before: list[Any] | None, limit: int
) -> tuple[list[D], int]:
    """A delivery log's page, newest first, older than `before` (created_at, id), and the
    tenant's total."""
    query = select(model).where(model.tenant == tenant)
    if before is not None:
        query = query.where(tuple_(model.created_at, model.id) < tuple_(*before))
    query = query.order_by(model.created_at.desc(), model.id.desc()).limit(limit)
    total = await session.scalar(select(func.count()).where(model.tenant == tenant))
    return list(await session.scalars(query)), int(total or 0)


@dataclass(frozen=True)
class LogPage(Generic[D]):
    rows: list[D]
    next_cursor: str | None
    total: int


async def delivery_log(
    session: AsyncSession, model: type[D], tenant: str, cursor: str | None, limit: int
) -> LogPage[D]:
    """The email or chat delivery log, a page after `cursor` (`paging`)."""
    before = None
    if cursor:
        at, row_id = paging.decode(cursor, 2)
        try:
            before = [datetime.fromisoformat(at), uuid.UUID(row_id)]
        except (TypeError, ValueError) as exc:
            raise paging.invalid_cursor() from exc
    rows, total = await log_page(session, model, tenant, before, limit + 1)
    following = None
    if len(rows) > limit:
        rows = rows[:limit]
        following = paging.encode([rows[-1].created_at.isoformat(), rows[-1].id])
    return LogPage(rows, following, total)
