"""Composing mail: a rendered message, its sender, its idempotency key, as an outbox row.

Pure: the callers decide who gets which mail and write the rows in their own transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import UTC, datetime
from email.utils import formataddr, parseaddr
from functools import lru_cache
from typing import Any

from anbefal.common.events import Action
from anbefal.notify import localtime
from anbefal.notify.email.render import render
from anbefal.notify.models import TaskFacts, Tenant
from anbefal.notify.reach import at_tenant_domain
from anbefal.notify.settings import NotifySettings
from anbefal.notify.unsubscribe import tokens


# Parsing an address is most of what composing a mail costs, and a process's mail has few
# senders (the deployment's and each tenant's): each is parsed once.
@lru_cache(maxsize=1024)
def _parsed(address: str) -> tuple[str, str]:
    return parseaddr(address)


@lru_cache(maxsize=1024)
def _from(name: str, address: str) -> str:
    return formataddr((name, address))


def sender_of(tenant_name: str, tenant: Tenant | None, settings: NotifySettings) -> str:
    """The From of a tenant's mail: its own sender if set, else the deployment's address under
    the tenant's name."""
    display = tenant.display_name if tenant else tenant_name
    default_name, default_address = _parsed(settings.email_from)
    if tenant and tenant.sender_email:
        return _from(tenant.sender_name or display, tenant.sender_email)
    return _from(display if default_name else "", default_address)


def signature_of(tenant_name: str, tenant: Tenant | None) -> str:
    """How a tenant's mail is signed: its sender name, else its name."""
    if tenant and tenant.sender_name:
        return tenant.sender_name
    return tenant.display_name if tenant else tenant_name


def message_id(key: uuid.UUID, sender: str) -> str:
    domain = _parsed(sender)[1].rpartition("@")[2] or "anbefal.localhost"
    return f"<{key}@{domain}>"


def compose(
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
    respondent_key: str | None = None,
    **context: Any,
) -> dict[str, Any]:
    """An email outbox row; `key` is its idempotency key (UNIQUE) and makes the Message-ID.

    `unsubscribe_url` is for respondent-facing mail: it goes into the text and the headers."""
    display = tenant.display_name if tenant else tenant_name
    sender = sender_of(tenant_name, tenant, settings)
    signature = signature_of(tenant_name, tenant)
    rendered = render(
        template,
        locale or (tenant.locale if tenant else "en"),
        tenant_name=display,
        signature=signature,
        unsubscribe_url=unsubscribe_url,
        **context,
    )
    return {
        "action_id": key,
        "tenant": tenant_name,
        "template": template,
        "message_id": message_id(key, sender),
        "sender": sender,
        "reply_to": reply_to,
        "recipient": recipient,
        "subject": rendered.subject,
        "body": rendered.body,
        "unsubscribe_url": unsubscribe_url,
        "trace_id": trace_id,
        "respondent_key": respondent_key,
    }


# The mails to staff about a task (`task_mail`), each at most once per task.
TASK_TEMPLATES = ("assignment", "sla_warning", "escalation", "escalation_next")


def task_mail_key(task_id: uuid.UUID, template: str) -> uuid.UUID:
    return uuid.uuid5(task_id, template)


def task_mail(
    task: TaskFacts,
    tenant: Tenant | None,
    settings: NotifySettings,
    template: str,
    recipient: str | None,
    *,
    link: str,
    time_zone: str | None = None,
    **context: Any,
) -> dict[str, Any]:
    """A mail to staff about one task (assignment, SLA warning, escalations), linking to `link`,
    a page its recipient can open (`reach.page_for`). Its key is derived from the task and the
    template, so each of these mails exists once per task. Times are in `time_zone`, the
    recipient's own (a staff user's setting), else the tenant's."""
    return compose(
        key=task_mail_key(task.id, template),
        tenant_name=task.tenant,
        tenant=tenant,
        settings=settings,
        template=template,
        locale=tenant.locale if tenant else None,
        recipient=recipient,
        reply_to=None,
        trace_id=None,
        respondent_key=task.respondent.get("key"),
        respondent=task.respondent.get("name") or task.respondent.get("key"),
        score=task.score,
        comment=task.comment,
        due=_due(task, tenant, time_zone, settings),
        assignee=task.assignee,
        task_type=task.type,
        link=link,
        **context,
    )


def _due(
    task: TaskFacts, tenant: Tenant | None, time_zone: str | None, settings: NotifySettings
) -> str:
    """The due time in `time_zone` (else the tenant's, else the deployment's default) and the
    tenant's language, with the words ("i morgen kl. 14:00")."""
    if task.due_at is None:
        return ""
    tz = localtime.zone(time_zone, tenant.time_zone if tenant else None, settings.default_time_zone)
    return localtime.due(task.due_at, tz, tenant.locale if tenant else None, datetime.now(UTC))


def reply_to(address: str | None, tenant: Tenant | None, staff: Collection[str]) -> str | None:
    """The Reply-To of a respondent's mail. The answer names its owner (a survey's hidden field
    can say anything), so the address is kept only when it is the tenant's own: a staff login
    of the tenant (`staff`, lower-cased) or an address at the tenant's sender domain. Otherwise
    the tenant's default director, or none."""
    if address and (address.lower() in staff or at_tenant_domain(address, tenant)):
        return address
    return tenant.default_director if tenant else None


def respondent_mail(
    action: Action,
    tenant: Tenant | None,
    settings: NotifySettings,
    trace_id: str | None,
    *,
    staff: Collection[str] = (),
) -> dict[str, Any]:
    """The mail an email action sends its respondent (a thank-you, or its own template), with
    an unsubscribe link; keyed by the action, so a redelivered action writes no second row.
    `staff`: the lower-cased addresses of the tenant's staff logins (see `reply_to`)."""
    respondent = action.respondent
    link = None
    if respondent.email:
        link = tokens.url(
            settings.public_url,
            settings.unsubscribe_link_keys(),
            tenant=action.tenant,
            email=respondent.email,
            locale=respondent.locale or (tenant.locale if tenant else None),
        )
    row = compose(
        key=action.action_id,
        tenant_name=action.tenant,
        tenant=tenant,
        settings=settings,
        template=action.template or "thank_you",
        locale=respondent.locale,
        recipient=respondent.email,
        reply_to=reply_to(action.assignee, tenant, staff),
        trace_id=trace_id,
        unsubscribe_url=link,
        respondent_key=respondent.key,
        name=respondent.name,
        score=action.score,
        comment=action.comment,
    )
    if action.cancelled:
        # First seen cancelled: kept (the log shows it) but never sent.
        row.update(status="cancelled", last_error="the action was cancelled")
    elif not respondent.email:
        # Nobody to send it to (none given, or the respondent's key is shredded): kept as
        # failed at once, so the sender never claims it only to find that out.
        row.update(status="failed", last_error="the respondent has no email address")
    return row
