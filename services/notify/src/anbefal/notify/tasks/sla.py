"""The SLA clock: a warning to the assignee at 75% of the time, an escalation at breach.

Safe with several notify copies: rows are claimed with `FOR UPDATE SKIP LOCKED` and each mark
(`warned_at`, `escalated_at`) is set in the same transaction as the email it causes, whose
idempotency key is derived from the task, so a task is warned once and escalated once.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anbefal.common import metrics
from anbefal.common.logging import get_logger
from anbefal.common.worker import PollingWorker, on_commit
from anbefal.notify import repository
from anbefal.notify.email import service as email
from anbefal.notify.email.compose import task_mail
from anbefal.notify.models import Task, Tenant
from anbefal.notify.settings import NotifySettings
from anbefal.notify.tasks import events
from anbefal.notify.tasks import repository as tasks_repository
from anbefal.notify.tasks.events import task_event

log = get_logger(__name__)


class SlaClock:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: NotifySettings,
        *,
        batch: int = 50,
    ) -> None:
        self._settings = settings
        self._batch = batch
        self.worker = PollingWorker(
            "sla-clock", sessionmaker, self.step, poll_s=settings.sla_poll_s
        )

    async def step(self, session: AsyncSession) -> int:
        now = datetime.now(UTC)
        warn = await tasks_repository.tasks_past_warning(session, now, self._batch)
        breached = await tasks_repository.tasks_past_due(session, now, self._batch)
        # After the breach escalations are marked, so a task breached long ago (notify was
        # down) is escalated to both levels in this one step.
        for task in breached:
            await tasks_repository.set_task(session, task, escalated_at=now)
        again = await tasks_repository.tasks_past_next_level(session, now, self._batch)
        tasks = warn + breached + again
        if not tasks:
            return 0
        tenants = await repository.tenants(session, {t.tenant for t in tasks})
        s = self._settings
        emails = []
        for task in warn:
            await tasks_repository.set_task(session, task, warned_at=now)
            emails.append(
                task_mail(task, tenants.get(task.tenant), s, "sla_warning", task.assignee)
            )
        for task in breached:
            tenant = tenants.get(task.tenant)
            emails.append(task_mail(task, tenant, s, "escalation", _director(task, tenant)))
            log.warning(
                "SLA breached; escalated",
                tenant=task.tenant, task_id=str(task.id), to=_director(task, tenant),
            )  # fmt: skip
        for task in again:
            tenant = tenants[task.tenant]  # the join in the query guarantees it
            await tasks_repository.set_task(session, task, escalated_next_at=now)
            emails.append(
                task_mail(
                    task,
                    tenant,
                    s,
                    "escalation_next",
                    tenant.escalation_next,
                    director=_director(task, tenant),
                )  # fmt: skip
            )
            log.warning(
                "SLA breach unresolved; escalated to the next level",
                tenant=task.tenant, task_id=str(task.id), to=tenant.escalation_next,
            )  # fmt: skip
        await email.queue(session, emails)
        await events.record(session, [task_event(t, "escalated", None) for t in breached])
        for task in breached:
            # Once committed: a step retried after a failed commit would count them again.
            on_commit(session, metrics.SLA_BREACHES.labels(metrics.tenant_label(task.tenant)).inc)
        return len(tasks)


def _director(task: Task, tenant: Tenant | None) -> str | None:
    return (tenant.default_director if tenant else None) or task.assignee
