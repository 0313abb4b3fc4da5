"""notify's part of a person's export: their tasks with notes, the mail to or about them, the
chat posts of their tasks, and whether their address is on the suppression list."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.app.privacy import records
from anbefal.common.crypto import Keyring
from anbefal.common.erasure import Subject, identity_hashes
from anbefal.notify.models import ChatMessage, Email, Suppression, Task, TaskNote
from anbefal.notify.privacy.erasure import emails_naming, tasks_naming


async def collect(
    session: AsyncSession, tenant: str, subject: Subject, keyring: Keyring
) -> dict[str, list[dict[str, Any]]]:
    tasks = list(
        await session.scalars(
            select(Task).where(tasks_naming(tenant, subject)).order_by(Task.created_at)
        )
    )
    ids = [t.id for t in tasks]
    notes = await session.scalars(
        select(TaskNote).where(TaskNote.task_id.in_(ids)).order_by(TaskNote.created_at)
    )
    naming, _ = emails_naming(tenant, subject, tasks)
    emails = await session.scalars(select(Email).where(naming).order_by(Email.created_at))
    chat = await session.scalars(
        select(ChatMessage).where(ChatMessage.task_id.in_(ids)).order_by(ChatMessage.created_at)
    )
    suppressed: list[Suppression] = []
    if subject.email:
        forms = [subject.email, *identity_hashes(keyring, tenant, "email", subject.email)]
        suppressed = list(
            await session.scalars(
                select(Suppression).where(
                    Suppression.tenant == tenant, Suppression.email.in_(forms)
                )
            )
        )
    return {
        "tasks": records(tasks),
        "task_notes": records(notes),
        "emails": [{k: v for k, v in e.items() if k != "unsubscribe_url"} for e in records(emails)],
        "chat_messages": [{k: v for k, v in c.items() if k != "url"} for c in records(chat)],
        "suppressions": records(suppressed),
    }
