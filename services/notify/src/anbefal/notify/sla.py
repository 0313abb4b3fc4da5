"""The SLA clock: a warning to the assignee at 75% of the time, an escalation at breach.

Safe with several notify copies: rows are claimed with `FOR UPDATE SKIP LOCKED` and each mark
(`warned_at`, `escalated_at`) is set in the same transaction as the email it causes, whose
idempotency key is derived from the task, so a task is warned once and escalated once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anbefal.common import metrics
from anbefal.common.logging import get_logger
from anbefal.common.worker import PollingWorker
from anbefal.notify import repository, task_events
from anbefal.notify.handlers import compose_email
from anbefal.notify.models import Task, Tenant
from anbefal.notify.settings import NotifySettings
from anbefal.notify.task_events import task_event

log = get_logger(__name__)


class SlaClock:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: NotifySettings,
        *,
        on_email: Callable[[], None],
        batch: int = 50,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._settings = settings
        self._on_email = on_email
        self._batch = batch
        self.worker = PollingWorker("sla-clock", self.step, poll_s=settings.sla_poll_s)

    def _email(
        self, task: Task, tenant: Tenant | None, template: str, recipient: str | None
    ) -> dict[str, object]:
        return compose_email(
            key=uuid.uuid5(task.id, template),
            tenant_name=task.tenant,
            tenant=tenant,
            settings=self._settings,
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
            link=f"{self._settings.public_url.rstrip('/')}/tasks/{task.id}",
        )

    async def step(self) -> int:
        now = datetime.now(UTC)
        async with self._sessionmaker() as session, session.begin():
            warn = await repository.tasks_past_warning(session, now, self._batch)
            breached = await repository.tasks_past_due(session, now, self._batch)
            tasks = warn + breached
            if not tasks:
                return 0
            tenants = await repository.tenants(session, {t.tenant for t in tasks})
            emails = []
            for task in warn:
                await repository.set_task(session, task, warned_at=now)
                emails.append(
                    self._email(task, tenants.get(task.tenant), "sla_warning", task.assignee)
                )
            for task in breached:
                tenant = tenants.get(task.tenant)
                director = (tenant.default_director if tenant else None) or task.assignee
                await repository.set_task(session, task, escalated_at=now)
                emails.append(self._email(task, tenant, "escalation", director))
                log.warning(
                    "SLA breached; escalated", tenant=task.tenant, task_id=str(task.id), to=director
                )
            await repository.insert_emails(session, emails)
            await task_events.record(session, [task_event(t, "escalated", None) for t in breached])
        for task in breached:
            metrics.SLA_BREACHES.labels(task.tenant).inc()
        self._on_email()
        return len(tasks)
