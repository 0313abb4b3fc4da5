"""All of notify's SQL."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql import func

from anbefal.common import metrics
from anbefal.common.db import upsert_latest
from anbefal.common.events import TenantSettings
from anbefal.notify.models import (
    ChatMessage,
    Email,
    StaffUser,
    Suppression,
    Task,
    TaskNote,
    Tenant,
)
from anbefal.notify.tasks import ACTIVE


async def upsert_tenants(session: AsyncSession, settings: Sequence[TenantSettings]) -> None:
    rows = [
        {
            "tenant": s.tenant,
            "display_name": s.display_name,
            "locale": s.locale,
            "sender_name": s.sender_name,
            "sender_email": s.sender_email,
            "default_director": s.default_director,
            "escalation_next": s.escalation_next,
            "escalation_next_after_hours": s.escalation_next_after_hours,
            "chat_webhook_url": s.chat_webhook_url,
        }
        for s in settings
    ]
    await upsert_latest(session, Tenant, rows, "tenant")


async def tenants(session: AsyncSession, names: set[str]) -> dict[str, Tenant]:
    rows = await session.scalars(select(Tenant).where(Tenant.tenant.in_(names)))
    return {t.tenant: t for t in rows}


async def insert_emails(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(
            insert(Email).values(rows).on_conflict_do_nothing(index_elements=[Email.action_id])
        )


async def list_tasks(
    session: AsyncSession, tenant: str, status: str | None, limit: int
) -> list[Task]:
    query = select(Task).where(Task.tenant == tenant)
    if status:
        query = query.where(Task.status == status)
    # Overdue first falls out of ordering by due time; tasks without a due time last.
    query = query.order_by(Task.due_at.asc().nulls_last(), Task.priority.desc(), Task.created_at)
    return list(await session.scalars(query.limit(limit)))


async def queue(
    session: AsyncSession, tenant: str, *, mine: str | None, limit: int = 200
) -> list[Task]:
    """Tasks not done, in queue order. With `mine` (an address): only what that person may pick
    up or holds: tasks assigned to them or to nobody and not held by someone else, plus their
    own claims. Without: the whole team's queue."""
    query = select(Task).where(Task.tenant == tenant, Task.status.in_(ACTIVE))
    if mine is not None:
        mine = mine.lower()
        query = query.where(
            or_(
                func.lower(Task.claimed_by) == mine,
                and_(
                    Task.status == "open",
                    or_(Task.assignee.is_(None), func.lower(Task.assignee) == mine),
                ),
            )
        )
    query = query.order_by(Task.due_at.asc().nulls_last(), Task.priority.desc(), Task.created_at)
    return list(await session.scalars(query.limit(limit)))


async def respondent_history(session: AsyncSession, task: Task, limit: int = 20) -> list[Task]:
    """The same respondent's other tasks in this tenant (their earlier answers), newest first.
    notify only knows the answers that made a task; the respondent key links them."""
    key = task.respondent.get("key")
    if not key:
        return []
    query = (
        select(Task)
        .where(
            Task.tenant == task.tenant,
            Task.respondent["key"].astext == key,
            Task.id != task.id,
        )
        .order_by(Task.answered_at.desc())
        .limit(limit)
    )
    return list(await session.scalars(query))


async def list_emails(session: AsyncSession, tenant: str, limit: int) -> list[Email]:
    query = select(Email).where(Email.tenant == tenant).order_by(Email.created_at.desc())
    return list(await session.scalars(query.limit(limit)))


async def get_email(session: AsyncSession, tenant: str, email_id: uuid.UUID) -> Email | None:
    result: Email | None = await session.scalar(
        select(Email).where(Email.id == email_id, Email.tenant == tenant)
    )
    return result


async def claim_due_emails(session: AsyncSession, limit: int) -> list[Email]:
    query = (
        select(Email)
        .where(Email.status == "pending", Email.next_attempt_at <= func.now())
        .order_by(Email.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(await session.scalars(query))


async def mark_sent(session: AsyncSession, email_id: uuid.UUID) -> None:
    await session.execute(
        update(Email)
        .where(Email.id == email_id)
        .values(status="sent", sent_at=func.now(), attempts=Email.attempts + 1, last_error=None)
    )


async def mark_failed_attempt(
    session: AsyncSession,
    email: Email,
    error: str,
    *,
    permanent: bool,
    max_attempts: int,
    now: datetime,
) -> None:
    await _failed_attempt(
        session, Email, email, error, permanent=permanent, max_attempts=max_attempts, now=now
    )


async def _failed_attempt(
    session: AsyncSession,
    model: type[Email] | type[ChatMessage],
    row: Email | ChatMessage,
    error: str,
    *,
    permanent: bool,
    max_attempts: int,
    now: datetime,
    at_least: timedelta = timedelta(0),
) -> None:
    """Count a failed delivery of an outbox row: back off, or give up for good (`failed`)."""
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


async def insert_chat_messages(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(ChatMessage).values(rows).on_conflict_do_nothing())


async def claim_due_chat_messages(session: AsyncSession, limit: int) -> list[ChatMessage]:
    query = (
        select(ChatMessage)
        .where(ChatMessage.status == "pending", ChatMessage.next_attempt_at <= func.now())
        .order_by(ChatMessage.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(await session.scalars(query))


async def mark_chat_sent(session: AsyncSession, message: ChatMessage) -> None:
    await session.execute(
        update(ChatMessage)
        .where(ChatMessage.id == message.id)
        .values(
            status="sent", sent_at=func.now(), attempts=ChatMessage.attempts + 1, last_error=None
        )
    )


async def mark_chat_failed_attempt(
    session: AsyncSession,
    message: ChatMessage,
    error: str,
    *,
    permanent: bool,
    max_attempts: int,
    now: datetime,
    retry_after: timedelta,
) -> None:
    await _failed_attempt(
        session, ChatMessage, message, error, permanent=permanent, max_attempts=max_attempts,
        now=now, at_least=retry_after,
    )  # fmt: skip


async def list_chat_messages(session: AsyncSession, tenant: str, limit: int) -> list[ChatMessage]:
    query = (
        select(ChatMessage)
        .where(ChatMessage.tenant == tenant)
        .order_by(ChatMessage.created_at.desc())
        .limit(limit)
    )
    return list(await session.scalars(query))


async def mark_suppressed(session: AsyncSession, email_id: uuid.UUID) -> None:
    await session.execute(
        update(Email)
        .where(Email.id == email_id)
        .values(status="suppressed", last_error="the recipient unsubscribed")
    )


async def suppress(session: AsyncSession, tenant: str, email: str, reason: str) -> None:
    await session.execute(
        insert(Suppression)
        .values(tenant=tenant, email=email.strip().lower(), reason=reason)
        .on_conflict_do_nothing()
    )


async def _present(
    session: AsyncSession, model: type[Suppression] | type[StaffUser], pairs: set[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Which of these (tenant, lower-cased address) pairs have a row in `model`."""
    if not pairs:
        return set()
    rows = await session.execute(
        select(model.tenant, model.email).where(tuple_(model.tenant, model.email).in_(pairs))
    )
    return {(t, e) for t, e in rows}


async def suppressed(session: AsyncSession, emails: Sequence[Email]) -> set[tuple[str, str]]:
    """Which (tenant, lower-cased address) pairs of these emails are on the suppression list."""
    return await _present(
        session, Suppression, {(e.tenant, e.recipient.lower()) for e in emails if e.recipient}
    )


async def staff_addresses(
    session: AsyncSession, pairs: set[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Which (tenant, lower-cased address) pairs belong to staff with a login for that tenant."""
    return await _present(session, StaffUser, pairs)


async def get_task(
    session: AsyncSession, tenant: str, task_id: uuid.UUID, *, lock: bool = False
) -> Task | None:
    query = select(Task).where(Task.id == task_id, Task.tenant == tenant)
    if lock:
        query = query.with_for_update()
    result: Task | None = await session.scalar(query)
    return result


async def set_task(session: AsyncSession, task: Task, **values: Any) -> None:
    await session.execute(update(Task).where(Task.id == task.id).values(**values))


async def add_note(session: AsyncSession, task: Task, author: str, body: str) -> None:
    session.add(TaskNote(task_id=task.id, tenant=task.tenant, author=author, body=body))
    await session.flush()


async def notes(session: AsyncSession, task_id: uuid.UUID) -> list[TaskNote]:
    rows = await session.scalars(
        select(TaskNote).where(TaskNote.task_id == task_id).order_by(TaskNote.created_at)
    )
    return list(rows)


async def tasks_by_action(
    session: AsyncSession, action_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Task]:
    """The tasks of these actions, locked: a revision and a claim of one task queue up."""
    if not action_ids:
        return {}
    rows = await session.scalars(
        select(Task).where(Task.action_id.in_(action_ids)).with_for_update()
    )
    return {t.action_id: t for t in rows}


async def _cancel_pending(
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


async def cancel_pending_emails(session: AsyncSession, action_ids: Sequence[uuid.UUID]) -> None:
    await _cancel_pending(session, Email.action_id, action_ids, "the action was cancelled")


async def cancel_pending_chat(session: AsyncSession, task_ids: Sequence[uuid.UUID]) -> None:
    await _cancel_pending(session, ChatMessage.task_id, task_ids, "the task was cancelled")


async def insert_tasks_returning(session: AsyncSession, rows: list[dict[str, Any]]) -> list[Task]:
    """Insert new tasks; returns only those that were not there before (for `created` events)."""
    if not rows:
        return []
    stmt = (
        insert(Task)
        .values(rows)
        .on_conflict_do_nothing(index_elements=[Task.action_id])
        .returning(Task)
    )
    return list((await session.scalars(stmt)).all())


async def refresh_task_gauges(conn: AsyncConnection) -> None:
    """Open and overdue tasks per tenant, for /metrics (counted at scrape time, never drifts)."""
    rows = await conn.execute(
        select(
            Task.tenant,
            func.count(),
            func.count().filter(Task.due_at < func.now()),
        )
        .where(Task.status.in_(ACTIVE))
        .group_by(Task.tenant)
    )
    metrics.TASKS_OPEN.clear()
    metrics.TASKS_OVERDUE.clear()
    for tenant, open_, overdue in rows:
        metrics.TASKS_OPEN.labels(tenant).set(open_)
        metrics.TASKS_OVERDUE.labels(tenant).set(overdue)


async def tasks_past_warning(session: AsyncSession, now: datetime, limit: int) -> list[Task]:
    """Open tasks that have used 75% of their time and got no warning yet (rows locked)."""
    threshold = Task.answered_at + (Task.due_at - Task.answered_at) * 0.75
    query = (
        select(Task)
        .where(
            Task.status.in_(ACTIVE),
            Task.due_at.is_not(None),
            Task.warned_at.is_(None),
            Task.escalated_at.is_(None),
            Task.due_at > now,
            threshold <= now,
        )
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(await session.scalars(query))


async def tasks_past_due(session: AsyncSession, now: datetime, limit: int) -> list[Task]:
    """Open tasks past their due time and not escalated yet (rows locked: one copy each)."""
    query = (
        select(Task)
        .where(
            Task.status.in_(ACTIVE),
            Task.due_at <= now,
            Task.escalated_at.is_(None),
        )
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(await session.scalars(query))


async def tasks_past_next_level(session: AsyncSession, now: datetime, limit: int) -> list[Task]:
    """Escalated tasks still open `escalation_next_after_hours` past due, in tenants that have a
    next level and not escalated to it yet (rows locked: one copy each)."""
    after = func.make_interval(0, 0, 0, 0, 0, 0, Tenant.escalation_next_after_hours * 3600)
    query = (
        select(Task)
        .join(Tenant, Tenant.tenant == Task.tenant)
        .where(
            Task.status.in_(ACTIVE),
            Task.escalated_at.is_not(None),
            Task.escalated_next_at.is_(None),
            Tenant.escalation_next.is_not(None),
            Task.due_at + after <= now,
        )
        .limit(limit)
        .with_for_update(of=Task, skip_locked=True)
    )
    return list(await session.scalars(query))
