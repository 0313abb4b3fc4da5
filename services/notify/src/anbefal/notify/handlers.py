"""notify's consumer handler: actions become tasks (exactly once) or outbox emails."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import formataddr, parseaddr
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common import metrics
from anbefal.common.events import Action, TenantSettings
from anbefal.common.kafka import Message
from anbefal.common.logging import get_logger
from anbefal.common.nps import is_detractor
from anbefal.notify import repository
from anbefal.notify.chat import repository as chat_repository
from anbefal.notify.chat import worker as chat
from anbefal.notify.email import repository as email_repository
from anbefal.notify.email.render import render
from anbefal.notify.models import Task, Tenant
from anbefal.notify.settings import NotifySettings
from anbefal.notify.staff import repository as staff_repository
from anbefal.notify.tasks import events as task_events
from anbefal.notify.tasks import repository as tasks_repository
from anbefal.notify.tasks.events import task_event
from anbefal.notify.tasks.lifecycle import after_revision
from anbefal.notify.unsubscribe import tokens as unsubscribe

log = get_logger(__name__)
TASK_TYPES = {"call_task", "follow_up_task"}


def task_row(action: Action) -> dict[str, Any]:
    return {
        "action_id": action.action_id,
        "tenant": action.tenant,
        "type": action.type,
        "rule_id": action.rule_id,
        "assignee": action.assignee,
        "assignee_role": action.assignee_role,
        "due_at": action.due_at,
        "priority": action.priority,
        "response_event_id": action.response_event_id,
        "kind": action.kind,
        "score": action.score,
        "comment": action.comment,
        "answered_at": action.answered_at,
        "respondent": action.respondent.model_dump(),
        "segments": action.segments,
        "revision": action.revision,
        "attached": _attached(action),
        # First seen cancelled (revisions can arrive out of order): a tombstone, so the older
        # revision arriving later cannot open the task.
        "status": "cancelled" if action.cancelled else "open",
    }


def _attached(action: Action) -> list[dict[str, Any]]:
    return [a.model_dump(mode="json") for a in action.attached]


def newest(actions: Sequence[tuple[Action, str | None]]) -> list[tuple[Action, str | None]]:
    """Of several revisions of one action in a batch only the newest matters."""
    kept: dict[uuid.UUID, tuple[Action, str | None]] = {}
    for action, trace in actions:
        seen = kept.get(action.action_id)
        if seen is None or action.revision > seen[0].revision:
            kept[action.action_id] = (action, trace)
    return list(kept.values())


async def apply_revisions(session: AsyncSession, actions: Sequence[Action]) -> None:
    """Newer revisions of actions whose task exists: the late comment, the changed score and
    the attached answers land on the task; a cancelled action takes it out of the queue. An
    older or repeated revision changes nothing."""
    tasks = await tasks_repository.tasks_by_action(session, [a.action_id for a in actions])
    cancelled = []
    for action in actions:
        task = tasks.get(action.action_id)
        if task is None or action.revision <= task.revision:
            continue
        status = after_revision(task.status, action.cancelled)
        values: dict[str, Any] = {
            "revision": action.revision,
            "score": action.score,
            "comment": action.comment,
            "attached": _attached(action),
            "status": status,
        }
        if task.status == "cancelled" and status == "open":
            values.update(claimed_by=None, claimed_at=None)  # back in the queue for anyone
        if status == "cancelled":
            cancelled.append(task.id)
        await tasks_repository.set_task(session, task, **values)
        log.info(
            "task revised", tenant=task.tenant, task_id=str(task.id),
            revision=action.revision, status=status,
        )  # fmt: skip
    await chat_repository.cancel_pending_chat(session, cancelled)


def compose_email(
    *,
    key: uuid.UUID,
    tenant_name: str,
    tenant: Tenant | None,
    settings: NotifySettings,
    template: str,
    locale: str | None,
    recipient: str | None,
    reply_to: str | None,
    trace_id: str | None,
    unsubscribe_url: str | None = None,
    **context: Any,
) -> dict[str, Any]:
    """An email outbox row; `key` is its idempotency key (UNIQUE) and makes the Message-ID.

    `unsubscribe_url` is for respondent-facing mail: it goes into the text and the headers."""
    display = tenant.display_name if tenant else tenant_name
    default_name, default_address = parseaddr(settings.email_from)
    if tenant and tenant.sender_email:
        sender = formataddr((tenant.sender_name or display, tenant.sender_email))
    else:
        sender = formataddr((display if default_name else "", default_address))
    signature = tenant.sender_name if tenant and tenant.sender_name else display
    rendered = render(
        template,
        locale or (tenant.locale if tenant else "en"),
        tenant_name=display,
        signature=signature,
        unsubscribe_url=unsubscribe_url,
        **context,
    )
    domain = parseaddr(sender)[1].rpartition("@")[2] or "anbefal.localhost"
    return {
        "action_id": key,
        "tenant": tenant_name,
        "template": template,
        "message_id": f"<{key}@{domain}>",
        "sender": sender,
        "reply_to": reply_to,
        "recipient": recipient,
        "subject": rendered.subject,
        "body": rendered.body,
        "unsubscribe_url": unsubscribe_url,
        "trace_id": trace_id,
    }


def task_email(
    task: Task,
    tenant: Tenant | None,
    settings: NotifySettings,
    template: str,
    recipient: str | None,
    **context: Any,
) -> dict[str, Any]:
    """A mail to staff about one task (assignment, SLA warning, escalations). Its key is derived
    from the task and the template, so each of these mails exists once per task."""
    return compose_email(
        key=uuid.uuid5(task.id, template),
        tenant_name=task.tenant,
        tenant=tenant,
        settings=settings,
        template=template,
        locale=tenant.locale if tenant else None,
        recipient=recipient,
        reply_to=None,
        trace_id=None,
        respondent=task.respondent.get("name") or task.respondent.get("key"),
        score=task.score,
        comment=task.comment,
        due=task.due_at.strftime("%Y-%m-%d %H:%M UTC") if task.due_at else "",
        assignee=task.assignee,
        task_type=task.type,
        link=f"{settings.public_url.rstrip('/')}/tasks/{task.id}",
        **context,
    )


def email_row(
    action: Action, tenant: Tenant | None, settings: NotifySettings, trace_id: str | None
) -> dict[str, Any]:
    row = _email_row(action, tenant, settings, trace_id)
    if action.cancelled:
        # First seen cancelled: kept (the log shows it) but never sent.
        row.update(status="cancelled", last_error="the action was cancelled")
    return row


def _email_row(
    action: Action, tenant: Tenant | None, settings: NotifySettings, trace_id: str | None
) -> dict[str, Any]:
    respondent = action.respondent
    link = None
    if respondent.email:
        link = unsubscribe.url(
            settings.public_url,
            settings.jwt_secret.get_secret_value(),
            tenant=action.tenant,
            email=respondent.email,
            locale=respondent.locale or (tenant.locale if tenant else None),
        )
    return compose_email(
        key=action.action_id,
        tenant_name=action.tenant,
        tenant=tenant,
        settings=settings,
        template=action.template or "thank_you",
        locale=action.respondent.locale,
        recipient=action.respondent.email,
        reply_to=action.assignee,
        trace_id=trace_id,
        unsubscribe_url=link,
        name=action.respondent.name,
        score=action.score,
        comment=action.comment,
    )


async def handle(
    session: AsyncSession, messages: Sequence[Message], *, settings: NotifySettings
) -> None:
    tenant_settings = [m.event for m in messages if isinstance(m.event, TenantSettings)]
    if tenant_settings:
        await repository.upsert_tenants(session, tenant_settings)
    actions = newest([(m.event, m.trace_id) for m in messages if isinstance(m.event, Action)])
    if not actions:
        return
    task_actions = [a for a, _ in actions if a.type in TASK_TYPES]
    inserted = await tasks_repository.insert_tasks_returning(
        session, [task_row(a) for a in task_actions]
    )
    new_ids = {t.action_id for t in inserted}
    await apply_revisions(session, [a for a in task_actions if a.action_id not in new_ids])
    created = [t for t in inserted if t.status == "open"]
    await task_events.record(session, [task_event(t, "created", None) for t in created])
    now = datetime.now(UTC)
    received = {
        a.action_id: a.received_at for a, _ in actions if is_detractor(a.score) and a.received_at
    }
    for task in created:
        if (at := received.get(task.action_id)) is not None:
            metrics.DETRACTOR_TO_TASK.observe((now - at).total_seconds())
    emails = [(a, t) for a, t in actions if a.type == "email"]
    await email_repository.cancel_pending_emails(
        session, [a.action_id for a, _ in emails if a.cancelled]
    )
    if emails or created:
        tenants = await repository.tenants(
            session, {a.tenant for a, _ in emails} | {t.tenant for t in created}
        )
        # Only for tasks created now: a redelivered action makes no task, and no second post.
        await chat_repository.insert_chat_messages(
            session,
            [
                chat.chat_row(t, tenant, settings)
                for t in created
                if (tenant := tenants.get(t.tenant)) is not None and chat.wanted(t, tenant)
            ],
        )
        # Assignment notices only to the tenant's staff (people with a login): the notice
        # links to the staff page, and respondent details do not go to an address notify does
        # not know as this tenant's (owner hints can come from a survey's hidden fields).
        staff = await staff_repository.staff_addresses(
            session, {(t.tenant, t.assignee.lower()) for t in created if t.assignee}
        )
        await email_repository.insert_emails(
            session,
            [email_row(a, tenants.get(a.tenant), settings, t) for a, t in emails]
            + [
                task_email(t, tenants.get(t.tenant), settings, "assignment", t.assignee)
                for t in created
                if t.assignee and (t.tenant, t.assignee.lower()) in staff
            ],
        )
    for action, _ in actions:
        if action.type == "chat_message":
            log.warning("chat messages are not supported yet", action_id=str(action.action_id))
