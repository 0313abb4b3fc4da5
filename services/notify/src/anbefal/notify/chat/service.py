"""Chat's operations: which new tasks are posted, the post's text, cancelling, the log.

The post is written to the `chat_messages` outbox in the transaction that creates the task, so it
cannot be lost; `ChatWorker` posts it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.nps import is_detractor
from anbefal.notify.chat import repository
from anbefal.notify.email.render import render
from anbefal.notify.models import ChatMessage, Task, Tenant
from anbefal.notify.settings import NotifySettings


def wanted(task: Task, tenant: Tenant | None) -> bool:
    # NPS only: an eNPS detractor in a shared channel could single out an employee.
    return bool(
        tenant is not None
        and tenant.chat_webhook_url
        and task.kind == "nps"
        and task.type == "call_task"
        and is_detractor(task.score)
    )


def chat_row(task: Task, tenant: Tenant, settings: NotifySettings) -> dict[str, Any]:
    rendered = render(
        "chat_detractor",
        tenant.locale,
        tenant_name=tenant.display_name,
        respondent=task.respondent.get("name") or task.respondent.get("key"),
        score=task.score,
        comment=task.comment,
        due=task.due_at.strftime("%Y-%m-%d %H:%M UTC") if task.due_at else "",
        assignee=task.assignee,
        link=f"{settings.public_url.rstrip('/')}/tasks/{task.id}",
    )
    # `text` is the one field both Slack and Teams (connector) incoming webhooks accept.
    text = f"{rendered.subject}\n{rendered.body}".rstrip("\n")
    return {
        "id": uuid.uuid5(task.id, "chat"),
        "tenant": task.tenant,
        "task_id": task.id,
        "url": tenant.chat_webhook_url,
        "payload": {"text": text},
    }


async def announce(
    session: AsyncSession,
    created: Sequence[Task],
    tenants: dict[str, Tenant],
    settings: NotifySettings,
) -> None:
    """Queue a post for each newly created task its tenant wants in the channel. Call it only
    for tasks created now: a redelivered action makes no task, and so no second post."""
    rows = [
        chat_row(t, tenant, settings)
        for t in created
        if (tenant := tenants.get(t.tenant)) is not None and wanted(t, tenant)
    ]
    await repository.insert_chat_messages(session, rows)


async def cancel(session: AsyncSession, task_ids: Sequence[uuid.UUID]) -> None:
    """The posts of these cancelled tasks are not sent, unless they went already."""
    await repository.cancel_pending_chat(session, task_ids)


async def log(session: AsyncSession, tenant: str, limit: int) -> list[ChatMessage]:
    return await repository.list_chat_messages(session, tenant, limit)
