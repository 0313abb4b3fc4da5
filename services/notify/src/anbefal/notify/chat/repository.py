"""The chat outbox's SQL: writing posts, the delivery log, and the worker's marks."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.arrays import insert_rows
from anbefal.common.worker import wake_on_commit
from anbefal.notify import repository
from anbefal.notify.models import ChatMessage, ChatWebhook

# The chat worker's wake-up: a commit that queued posts wakes this process's sender.
SENDER = "chat-sender"


async def insert_chat_messages(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await insert_rows(session, ChatMessage, rows, "ON CONFLICT DO NOTHING")
        wake_on_commit(session, SENDER)


async def claim_due_chat_messages(session: AsyncSession, limit: int) -> list[ChatMessage]:
    return await repository.claim_due(session, ChatMessage, limit)


async def cancel_pending_chat(session: AsyncSession, task_ids: Sequence[uuid.UUID]) -> None:
    await repository.cancel_pending(
        session, ChatMessage.task_id, task_ids, "the task was cancelled"
    )


async def upsert_webhook(session: AsyncSession, row: dict[str, Any]) -> None:
    stmt = insert(ChatWebhook).values(row)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[ChatWebhook.tenant],
            set_={c: stmt.excluded[c] for c in ("url_sealed", "host", "updated_by", "updated_at")},
        )
    )


async def delete_webhook(session: AsyncSession, tenant: str) -> None:
    await session.execute(delete(ChatWebhook).where(ChatWebhook.tenant == tenant))


async def webhooks(session: AsyncSession, tenants: set[str]) -> dict[str, ChatWebhook]:
    if not tenants:
        return {}
    rows = await session.scalars(select(ChatWebhook).where(ChatWebhook.tenant.in_(tenants)))
    return {row.tenant: row for row in rows}
