"""Chat's operations: which new tasks are posted, the post's text, cancelling, the log.

The post is written to the `chat_messages` outbox in the transaction that creates the task, so it
cannot be lost; `ChatWorker` posts it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.crypto import Keyring
from anbefal.common.errors import Unprocessable
from anbefal.common.nps import is_detractor
from anbefal.notify.chat import repository
from anbefal.notify.email.render import render
from anbefal.notify.models import ChatMessage, TaskFacts, Tenant
from anbefal.notify.repository import LogPage, delivery_log
from anbefal.notify.settings import NotifySettings

# Where Slack and Teams (connector and Workflows) incoming webhooks live. A webhook elsewhere
# would make the chat worker post to any host an admin names (inside the cluster too).
_HOSTS = frozenset({"hooks.slack.com", "outlook.office.com"})
_HOST_SUFFIXES = (".webhook.office.com", ".logic.azure.com", ".api.powerplatform.com")


def check_webhook_url(url: str, *, any_host: bool) -> str:
    """`url` if it is a Slack or Teams incoming webhook (https, their hosts, the default port,
    no user info); with the operator's `any_host`, any http(s) URL. Else 422."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        parts, port = urlsplit(""), None
    host = (parts.hostname or "").lower()
    if any_host:
        ok = parts.scheme in ("http", "https") and bool(host)
    else:
        ok = (
            parts.scheme == "https"
            and port in (None, 443)
            and parts.username is None
            and (host in _HOSTS or host.endswith(_HOST_SUFFIXES))
        )
    if not ok:
        raise Unprocessable(
            "the chat webhook must be a Slack or Teams incoming-webhook URL (https on "
            "hooks.slack.com, *.webhook.office.com or a Workflows host)",
            code="invalid_chat_webhook",
            details=[{"field": "url", "message": "not a Slack or Teams webhook", "type": "url"}],
        )
    return url.strip()


def _context(tenant: str) -> bytes:
    return f"notify:chat-webhook:{tenant}".encode()


def seal_url(keyring: Keyring, tenant: str, url: str) -> str:
    return keyring.seal(url.encode(), context=_context(tenant))


def open_url(keyring: Keyring, tenant: str, sealed: str) -> str:
    """Raises `crypto.Undecryptable` for another tenant's value or a key no longer listed."""
    return keyring.open(sealed, context=_context(tenant)).decode()


async def set_webhook(
    session: AsyncSession, tenant: str, url: str, settings: NotifySettings, by: str
) -> str:
    """Store the tenant's webhook, sealed; returns its host (what the API shows)."""
    url = check_webhook_url(url, any_host=settings.chat_webhook_any_host)
    host = (urlsplit(url).hostname or "").lower()
    await repository.upsert_webhook(
        session,
        {
            "tenant": tenant,
            "url_sealed": seal_url(settings.keyring(), tenant, url),
            "host": host,
            "updated_by": by,
            "updated_at": datetime.now(UTC),
        },
    )
    return host


async def clear_webhook(session: AsyncSession, tenant: str) -> None:
    await repository.delete_webhook(session, tenant)


async def webhook_host(session: AsyncSession, tenant: str) -> str | None:
    found = (await repository.webhooks(session, {tenant})).get(tenant)
    return found.host if found else None


def wanted(task: TaskFacts, tenant: Tenant | None, hooked: bool = True) -> bool:
    """`hooked`: the tenant has a chat webhook."""
    # NPS only: an eNPS detractor in a shared channel could single out an employee.
    return bool(
        tenant is not None
        and hooked
        and task.kind == "nps"
        and task.type == "call_task"
        and is_detractor(task.score)
    )


def chat_row(
    task: TaskFacts, tenant: Tenant, url_sealed: str, settings: NotifySettings
) -> dict[str, Any]:
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
        "url": url_sealed,
        "payload": {"text": text},
    }


async def announce(
    session: AsyncSession,
    created: Sequence[TaskFacts],
    tenants: dict[str, Tenant],
    settings: NotifySettings,
) -> None:
    """Queue a post for each newly created task its tenant wants in the channel. Call it only
    for tasks created now: a redelivered action makes no task, and so no second post."""
    posted = [t for t in created if wanted(t, tenants.get(t.tenant))]
    # Most batches have no task a channel is told of: they read no webhooks.
    hooks = await repository.webhooks(session, {t.tenant for t in posted})
    rows = [
        chat_row(t, tenants[t.tenant], hook.url_sealed, settings)
        for t in posted
        if (hook := hooks.get(t.tenant)) is not None
    ]
    await repository.insert_chat_messages(session, rows)


async def cancel(session: AsyncSession, task_ids: Sequence[uuid.UUID]) -> None:
    """The posts of these cancelled tasks are not sent, unless they went already."""
    await repository.cancel_pending_chat(session, task_ids)


async def log(
    session: AsyncSession, tenant: str, limit: int, cursor: str | None
) -> LogPage[ChatMessage]:
    return await delivery_log(session, ChatMessage, tenant, cursor, limit)
