"""The SLA clock: a warning to the assignee at 75% of the time, an escalation at breach.

Safe with several notify copies: rows are claimed with `FOR UPDATE SKIP LOCKED` and each mark
(`warned_at`, `escalated_at`) is set in the same transaction as the email it causes, whose
idempotency key is derived from the task, so a task is warned once and escalated once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anbefal.common import metrics
from anbefal.common.logging import get_logger
from anbefal.common.worker import PollingWorker, on_commit
from anbefal.notify import repository
from anbefal.notify.email import service as email
from anbefal.notify.email.compose import task_mail
from anbefal.notify.models import Task, Tenant
from anbefal.notify.reach import page_for
from anbefal.notify.settings import NotifySettings
from anbefal.notify.staff import service as staff
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
        mail = _Mail(tenants, self._settings, await _staff(session, tasks, tenants))
        for task in warn:
            await tasks_repository.set_task(session, task, warned_at=now)
            # No page opens for an owner only the answer named: no warning; the task waits in
            # the fallback queue and is escalated at its due time.
            mail.add(task, "sla_warning", task.assignee)
        for task in breached:
            to, lead = _director(task, tenants.get(task.tenant))
            mail.add(task, "escalation", to, lead=lead)
            log.warning(
                "SLA breached; escalated", tenant=task.tenant, task_id=str(task.id), to=to
            )  # fmt: skip
        for task in again:
            tenant = tenants[task.tenant]  # the join in the query guarantees it
            await tasks_repository.set_task(session, task, escalated_next_at=now)
            director = _director(task, tenant)[0]
            mail.add(task, "escalation_next", tenant.escalation_next, lead=True, director=director)
            log.warning(
                "SLA breach unresolved; escalated to the next level",
                tenant=task.tenant, task_id=str(task.id), to=tenant.escalation_next,
            )  # fmt: skip
        await email.queue(session, mail.rows)
        await events.record(session, [task_event(t, "escalated", None) for t in breached])
        for task in breached:
            # Once committed: a step retried after a failed commit would count them again.
            on_commit(session, metrics.SLA_BREACHES.labels(metrics.tenant_label(task.tenant)).inc)
        return len(tasks)


def _director(task: Task, tenant: Tenant | None) -> tuple[str | None, bool]:
    """Who an escalation goes to, and whether the tenant named them (a lead link may reach
    them): its default director, else the task's own owner."""
    if tenant is not None and tenant.default_director:
        return tenant.default_director, True
    return task.assignee, False


async def _staff(
    session: AsyncSession, tasks: list[Task], tenants: dict[str, Tenant]
) -> dict[tuple[str, str], str | None]:
    """The (tenant, lower-cased address) pairs of the step's recipients that have a login, each
    with the user's own time zone."""
    addresses = {(t.tenant, t.assignee) for t in tasks if t.assignee}
    for name, tenant in tenants.items():
        addresses |= {(name, a) for a in (tenant.default_director, tenant.escalation_next) if a}
    return await staff.staff_among(session, addresses)


class _Mail:
    """The step's staff mail: each to a page its recipient can open, or not at all."""

    def __init__(
        self,
        tenants: dict[str, Tenant],
        settings: NotifySettings,
        staff: dict[tuple[str, str], str | None],
    ) -> None:
        self._tenants, self._settings, self._staff = tenants, settings, staff
        self.rows: list[dict[str, Any]] = []

    def add(
        self, task: Task, template: str, to: str | None, *, lead: bool = False, **context: Any
    ) -> None:
        own = {e for tenant, e in self._staff if tenant == task.tenant}
        link = page_for(task, to, staff=own, settings=self._settings, lead=lead)
        if link is not None and to:
            tenant = self._tenants.get(task.tenant)
            zone = self._staff.get((task.tenant, to.lower()))
            self.rows.append(
                task_mail(
                    task,
                    tenant,
                    self._settings,
                    template,
                    to,
                    link=link,
                    time_zone=zone,
                    **context,
                )  # fmt: skip
            )
