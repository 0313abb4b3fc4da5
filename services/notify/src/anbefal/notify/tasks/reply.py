"""A reply to the respondent, written and sent from their task.

The reply is a mail in the email outbox like any other (the same worker, retries, suppression,
daily cap and delivery log), in the respondent's language, signed as the tenant signs its mail,
with an unsubscribe link, and Reply-To the staff user who wrote it, so the answer reaches them.
A `task_replies` row ties it to the task and its author; the page lists the task's replies with
the mail's state.

Idempotent on the form's key: the reply's id is derived from the task and the key, and is the
mail's key too, so a form sent twice (a double click, a retry) writes one mail.

Refused, with a code the page translates, when the respondent cannot be written to: their data
was erased (`erased`), there is no address (`no_email`), or they unsubscribed from the tenant's
mail (`unsubscribed`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints, field_validator
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.auth import Principal
from anbefal.common.erasure import ERASED_PREFIX
from anbefal.common.errors import Forbidden, Unprocessable
from anbefal.notify import repository
from anbefal.notify.access import CONTACT_READERS
from anbefal.notify.email import service as email
from anbefal.notify.email.compose import compose, signature_of
from anbefal.notify.email.render import render
from anbefal.notify.models import Email, Task, Tenant
from anbefal.notify.reply_models import TaskReply
from anbefal.notify.settings import NotifySettings
from anbefal.notify.tasks import queue
from anbefal.notify.unsubscribe import tokens
from anbefal.notify.unsubscribe.repository import suppressed_addresses

TEMPLATE = "reply"
DRAFT_TEMPLATE = "reply_draft"


class ReplyIn(BaseModel):
    """The reply form: the key the page gave it, and what its sender wrote."""

    model_config = ConfigDict(extra="forbid")

    key: uuid.UUID
    # One line: it becomes the mail's Subject header.
    subject: Annotated[
        str,
        StringConstraints(
            strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\r\n]*$"
        ),
    ]
    message: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]

    @field_validator("message", mode="before")
    @classmethod
    def _line_ends(cls, value: object) -> object:
        # A browser sends a textarea's lines ended by CRLF; the outbox keeps text with LF.
        return value.replace("\r\n", "\n").replace("\r", "\n") if isinstance(value, str) else value


@dataclass(frozen=True)
class Draft:
    """What the reply form starts with."""

    recipient: str
    subject: str
    message: str


@dataclass(frozen=True)
class Sent:
    """A reply on the task's page: when, by whom, its subject and its mail's state."""

    at: datetime
    author: str
    subject: str
    status: str


def reply_id(task_id: uuid.UUID, key: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(task_id, f"reply:{key}")


def _language(task: Task, tenant: Tenant | None) -> str | None:
    return task.respondent.get("locale") or (tenant.locale if tenant else None)


async def recipient(session: AsyncSession, task: Task, settings: NotifySettings) -> str:
    """The address a reply to `task`'s respondent goes to, or the refusal (422 with its code)."""
    if str(task.respondent.get("key") or "").startswith(ERASED_PREFIX):
        raise Unprocessable("the respondent's data was erased", code="erased")
    address = task.respondent.get("email")
    if not address:
        raise Unprocessable("the respondent has no email address", code="no_email")
    found = await suppressed_addresses(session, {(task.tenant, address)}, settings.keyring())
    if found:
        raise Unprocessable("the respondent unsubscribed", code="unsubscribed")
    return address


async def draft(session: AsyncSession, task: Task, settings: NotifySettings) -> Draft:
    """The form's start: the template in the respondent's language, signed as the tenant signs
    its mail; refused as `recipient` refuses."""
    address = await recipient(session, task, settings)
    tenant = (await repository.tenants(session, {task.tenant})).get(task.tenant)
    rendered = render(
        DRAFT_TEMPLATE,
        _language(task, tenant),
        name=task.respondent.get("name"),
        tenant_name=tenant.display_name if tenant else task.tenant,
        signature=signature_of(task.tenant, tenant),
    )
    return Draft(address, rendered.subject, rendered.body)


async def send(
    session: AsyncSession,
    task_id: uuid.UUID,
    who: Principal,
    form: ReplyIn,
    settings: NotifySettings,
) -> uuid.UUID:
    """Queue the reply (once per form key) and log it on the task; returns the reply's id."""
    if who.role not in CONTACT_READERS:
        raise Forbidden("only those who contact respondents write to them")
    task = await queue.get(session, who.tenant, task_id, who)
    address = await recipient(session, task, settings)
    rid = reply_id(task.id, form.key)
    written = await session.scalar(
        insert(TaskReply)
        .values(id=rid, task_id=task.id, tenant=task.tenant, author=who.sub)
        .on_conflict_do_nothing(index_elements=[TaskReply.id])
        .returning(TaskReply.id)
    )
    if written is None:
        return rid  # this form was sent already: its one mail is queued
    tenant = (await repository.tenants(session, {task.tenant})).get(task.tenant)
    language = _language(task, tenant)
    link = tokens.url(
        settings.public_url, settings.unsubscribe_link_keys(),
        tenant=task.tenant, email=address, locale=language,
    )  # fmt: skip
    row = compose(
        key=rid, tenant_name=task.tenant, tenant=tenant, settings=settings, template=TEMPLATE,
        locale=language, recipient=address, reply_to=who.sub, trace_id=None,
        unsubscribe_url=link, respondent_key=task.respondent.get("key"),
        subject=form.subject, body=form.message,
    )  # fmt: skip
    await email.queue(session, [row])
    return rid


async def sent(session: AsyncSession, task: Task) -> list[Sent]:
    """The task's replies, oldest first, with their mail's subject and state."""
    rows = await session.execute(
        select(TaskReply.created_at, TaskReply.author, Email.subject, Email.status)
        .join(Email, Email.action_id == TaskReply.id)
        .where(TaskReply.task_id == task.id)
        .order_by(TaskReply.created_at, TaskReply.id)
    )
    return [Sent(*row) for row in rows]
