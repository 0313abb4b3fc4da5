"""What notify erases of a person.

- tasks: the respondent becomes a key of its own per task (`erased:<task id>`), the comments go;
  status, outcome, times, score and segments stay (the queue's history and the SLA figures);
- the tasks' notes: the text goes (staff write about the call), author and time stay;
- mail to or about the person: subject and body go, and the address when it is theirs; mail
  not yet sent is cancelled;
- the tasks' chat posts: the text goes; posts not yet sent are cancelled;
- an unsubscribed address stays suppressed, as its keyed hash instead of the address.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import ColumnElement, false, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.crypto import Keyring
from anbefal.common.erasure import Subject, erased_key, identity_hash, normalise_email, scrubbed
from anbefal.notify.email.compose import TASK_TEMPLATES, task_mail_key
from anbefal.notify.models import ChatMessage, Email, Suppression, Task, TaskNote

ERASED_TEXT = "[erased]"


def tasks_naming(tenant: str, subject: Subject) -> ColumnElement[bool]:
    conditions: list[ColumnElement[bool]] = []
    if subject.respondent_id:
        conditions.append(Task.respondent["key"].astext == subject.respondent_id)
    if subject.email:
        conditions.append(func.lower(Task.respondent["email"].astext) == subject.email)
    return (Task.tenant == tenant) & or_(false(), *conditions)


def emails_naming(
    tenant: str, subject: Subject, tasks: Sequence[Task]
) -> tuple[ColumnElement[bool], set[str]]:
    """The mail to or about the subject (by their respondent key, their addresses, or as a
    notice about one of their `tasks`), and their addresses (the subject's and their tasks')."""
    addresses = {subject.email} if subject.email else set()
    addresses |= {normalise_email(e) for t in tasks if (e := t.respondent.get("email"))}
    conditions: list[ColumnElement[bool]] = []
    if subject.respondent_id:
        conditions.append(Email.respondent_key == subject.respondent_id)
    if addresses:
        conditions.append(func.lower(Email.recipient).in_(addresses))
    if tasks:
        # A task's notices are keyed by the task (compose.task_mail): found also when written
        # before mail carried the respondent key.
        keys = [task_mail_key(t.id, template) for t in tasks for template in TASK_TEMPLATES]
        conditions.append(Email.action_id.in_(keys))
    return (Email.tenant == tenant) & or_(false(), *conditions), addresses


async def erase(session: AsyncSession, tenant: str, subject: Subject, keyring: Keyring) -> int:
    """notify's anonymiser (common/erasure.py): the rows it changed."""
    tasks = list(
        await session.scalars(select(Task).where(tasks_naming(tenant, subject)).with_for_update())
    )
    emails_found, addresses = emails_naming(tenant, subject, tasks)
    changed = await erase_tasks(session, tasks)
    changed += await _erase_emails(session, emails_found, addresses)
    changed += await _hash_suppressions(session, tenant, addresses, keyring)
    return changed


async def erase_tasks(session: AsyncSession, tasks: Sequence[Task]) -> int:
    """The tasks without their respondent's identity, and the text of their notes and chat
    posts (erasure and retention): the rows changed."""
    for task in tasks:
        clean = scrubbed(
            {"respondent": task.respondent, "comment": task.comment, "attached": task.attached},
            erased_key(task.id),
        )
        task.respondent, task.comment, task.attached = (
            clean["respondent"],
            clean["comment"],
            clean["attached"],
        )
    await session.flush()
    task_ids = [t.id for t in tasks]
    return len(tasks) + await _erase_notes(session, task_ids) + await _erase_chat(session, task_ids)


def erase_email(email: Email, *, address: bool = True) -> None:
    """A mail without its subject and text (and address, unless `address` is false: another
    person's); not yet sent, it is cancelled (erasure and retention)."""
    if address:
        email.recipient = None
    email.subject = ERASED_TEXT
    email.body = ERASED_TEXT
    email.unsubscribe_url = None
    email.respondent_key = None
    if email.status == "pending":
        email.status, email.last_error = "cancelled", "the respondent's data was erased"


async def _erase_notes(session: AsyncSession, task_ids: Sequence[uuid.UUID]) -> int:
    if not task_ids:
        return 0
    result = await session.execute(
        update(TaskNote)
        .where(TaskNote.task_id.in_(task_ids), TaskNote.body != ERASED_TEXT)
        .values(body=ERASED_TEXT)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def _erase_emails(
    session: AsyncSession, naming: ColumnElement[bool], addresses: set[str]
) -> int:
    emails = list(await session.scalars(select(Email).where(naming).with_for_update()))
    for email in emails:
        theirs = bool(email.recipient) and normalise_email(email.recipient or "") in addresses
        erase_email(email, address=theirs)
    await session.flush()
    return len(emails)


async def _erase_chat(session: AsyncSession, task_ids: Sequence[uuid.UUID]) -> int:
    if not task_ids:
        return 0
    posts = list(
        await session.scalars(
            select(ChatMessage).where(ChatMessage.task_id.in_(task_ids)).with_for_update()
        )
    )
    for post in posts:
        post.payload = {"text": ERASED_TEXT}
        if post.status == "pending":
            post.status, post.last_error = "cancelled", "the respondent's data was erased"
    await session.flush()
    return len(posts)


async def _hash_suppressions(
    session: AsyncSession, tenant: str, addresses: set[str], keyring: Keyring
) -> int:
    if not addresses:
        return 0
    rows = list(
        await session.scalars(
            select(Suppression)
            .where(Suppression.tenant == tenant, Suppression.email.in_(addresses))
            .with_for_update()
        )
    )
    for row in rows:
        hashed = identity_hash(keyring, tenant, "email", row.email)
        await session.execute(
            insert(Suppression)
            .values(tenant=tenant, email=hashed, reason=row.reason, created_at=row.created_at)
            .on_conflict_do_nothing()
        )
        await session.delete(row)
    await session.flush()
    return len(rows)
