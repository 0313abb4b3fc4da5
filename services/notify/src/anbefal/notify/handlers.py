"""notify's consumer handler: decides what each action makes (a task, a mail, a chat post) and
hands it to the feature that makes it (`tasks`, `email`, `chat`), in the consumer's transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any

from anbefal.common import metrics
from anbefal.common.datakeys import DataKeys
from anbefal.common.erasure import erasure_handler
from anbefal.common.events import TASK_ACTIONS, Action, AuditEntry, ErasureRequested, TenantSettings
from anbefal.common.kafka import HandlerContext, Subscriptions
from anbefal.common.logging import get_logger
from anbefal.common.nps import is_detractor
from anbefal.common.services import NOTIFY
from anbefal.notify.audit import service as audit
from anbefal.notify.chat import service as chat
from anbefal.notify.email import compose
from anbefal.notify.email import service as email
from anbefal.notify.models import OUTBOX, TENANTS, TaskFacts, Tenant
from anbefal.notify.privacy import erasure
from anbefal.notify.reach import page_for
from anbefal.notify.settings import NotifySettings
from anbefal.notify.staff import service as staff
from anbefal.notify.tasks import service as tasks
from anbefal.notify.tenants import repository as tenant_records

log = get_logger(__name__)


def newest(actions: Sequence[tuple[Action, str | None]]) -> list[tuple[Action, str | None]]:
    """Of several revisions of one action in a batch only the newest matters."""
    kept: dict[uuid.UUID, tuple[Action, str | None]] = {}
    for action, trace in actions:
        seen = kept.get(action.action_id)
        if seen is None or action.revision > seen[0].revision:
            kept[action.action_id] = (action, trace)
    return list(kept.values())


def subscriptions(settings: NotifySettings) -> Subscriptions[Tenant]:
    # Tasks show the respondent's phone and mail goes to their address: open the sealed contact
    # data (an action whose respondent's key was shredded arrives without it).
    return Subscriptions(
        {
            Action: partial(handle_actions, settings=settings),
            AuditEntry: audit.store,
            TenantSettings: settings_changed,
            ErasureRequested: erasure_handler(NOTIFY.name, settings.keyring, erasure.erase, OUTBOX),
        },
        tenants=TENANTS,
        keys=DataKeys(settings.keyring()),
    )


async def settings_changed(ctx: HandlerContext[Tenant], events: Sequence[TenantSettings]) -> None:
    """Audited (each setting from and to), and kept whole for the next partial update."""
    await audit.settings_changed(ctx, events)
    await tenant_records.save(ctx.session, events)


async def handle_actions(
    ctx: HandlerContext[Tenant], events: Sequence[Action], *, settings: NotifySettings
) -> None:
    session = ctx.session
    actions = newest([(a, ctx.trace_id(a)) for a in events])
    tenants = await ctx.tenants()
    applied = await tasks.apply(session, [a for a, _ in actions if a.type in TASK_ACTIONS], tenants)
    await chat.cancel(session, applied.cancelled)
    created = applied.created
    _observe_detractor_to_task(created, [a for a, _ in actions])
    emails = [(a, t) for a, t in actions if a.type == "email"]
    await email.cancel(session, [a.action_id for a, _ in emails if a.cancelled])
    if emails or created:
        await chat.announce(session, created, tenants, settings)
        # The mails' and the new tasks' owners who are staff, in one read.
        known = await staff.staff_among(
            session,
            {(a.tenant, a.assignee) for a, _ in emails if a.assignee}
            | {(t.tenant, t.assignee) for t in created if t.assignee},
        )
        await email.queue(
            session,
            [
                compose.respondent_mail(
                    a,
                    tenants.get(a.tenant),
                    settings,
                    t,
                    staff={e for tenant, e in known if tenant == a.tenant},
                )  # fmt: skip
                for a, t in emails
            ]
            + _assignment_notices(created, tenants, known, settings),
        )
    for action, _ in actions:
        if action.type == "chat_message":
            log.warning("chat messages are not supported yet", action_id=str(action.action_id))


def _assignment_notices(
    created: Sequence[TaskFacts],
    tenants: dict[str, Tenant],
    known: dict[tuple[str, str], str | None],
    settings: NotifySettings,
) -> list[dict[str, Any]]:
    """An assignment notice to each new task's owner who can open a page for it (`reach`): the
    staff page for a staff login (`known`: the staff among the owners, each with their time
    zone), a signed link to the task for an owner the tenant named. An owner only the answer
    named (a survey's hidden field can name anyone) gets no mail and no respondent details;
    the task waits in the fallback queue."""
    notices = []
    for task in created:
        own = {e for tenant, e in known if tenant == task.tenant}
        link = page_for(task, task.assignee, staff=own, settings=settings)
        if link is not None and task.assignee:
            tenant = tenants.get(task.tenant)
            zone = known.get((task.tenant, task.assignee.lower()))
            notices.append(
                compose.task_mail(
                    task, tenant, settings, "assignment", task.assignee, link=link, time_zone=zone
                )
            )
    return notices


def _observe_detractor_to_task(created: Sequence[TaskFacts], actions: Sequence[Action]) -> None:
    now = datetime.now(UTC)
    received = {
        a.action_id: a.received_at for a in actions if is_detractor(a.score) and a.received_at
    }
    for task in created:
        if (at := received.get(task.action_id)) is not None:
            metrics.DETRACTOR_TO_TASK.observe((now - at).total_seconds())
