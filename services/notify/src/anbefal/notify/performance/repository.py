"""The figures' SQL: two grouped queries over a tenant's tasks of one period, the whole period
and (with a dimension) each of its segment values at once (`GROUPING SETS`).

A row's key is `None` for the whole period, else `(value,)` with the segment value (`None`
for tasks without that dimension)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, Subquery, distinct, extract, func, literal, null, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.auth import Scope
from anbefal.common.nps import DETRACTORS
from anbefal.notify.models import Task
from anbefal.notify.performance.period import Period
from anbefal.notify.tasks.lifecycle import ACTIVE
from anbefal.notify.tasks.repository import within

Key = tuple[str | None] | None


@dataclass
class Counts:
    """One row of figures: the whole period or one segment value."""

    tasks: int = 0
    detractors_with_task: int = 0
    with_due: int = 0
    contacted: int = 0
    contacted_within_due: int = 0
    median_first_contact_s: float | None = None
    done: int = 0
    open: int = 0
    overdue_now: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Selection:
    tenant: str
    kind: str
    period: Period
    scope: Scope
    dimension: str | None

    def tasks(self) -> Subquery:
        """The period's tasks (by the day of their answer) that the reader may count, with
        their value of the dimension as `value`."""
        value = Task.segments[self.dimension].astext if self.dimension else null()
        query = select(
            Task.response_event_id, Task.score, Task.status, Task.answered_at, Task.due_at,
            Task.first_contact_at, Task.outcome, Task.reason, value.label("value"),
        ).where(
            within(self.scope),
            Task.tenant == self.tenant,
            Task.kind == self.kind,
            Task.status != "cancelled",
            Task.answered_at >= self.period.start,
            Task.answered_at < self.period.end,
        )  # fmt: skip
        return query.subquery("period_tasks")

    def grouped(self, query: Select[Any], rows: Subquery, *keys: Any) -> Select[Any]:
        """`query` per `keys` for the whole period, and with a dimension per segment value and
        `keys` too, in one pass (`GROUPING SETS`)."""
        if self.dimension is None:
            return query.add_columns(literal(1).label("whole")).group_by(*keys)
        value = rows.c.value
        query = query.add_columns(func.grouping(value).label("whole"), value)
        return query.group_by(func.grouping_sets(tuple_(*keys), tuple_(value, *keys)))


def _key(row: Any) -> Key:
    return None if row.whole else (row.value,)


async def counts(session: AsyncSession, selection: Selection, now: datetime) -> dict[Key, Counts]:
    t = selection.tasks()
    active = t.c.status.in_(ACTIVE)
    detractor = t.c.score.between(DETRACTORS.low, DETRACTORS.high)
    first_contact_s = extract("epoch", t.c.first_contact_at - t.c.answered_at)
    figures = select(
        func.count().label("tasks"),
        func.count(distinct(t.c.response_event_id)).filter(detractor).label("detractors"),
        func.count(t.c.due_at).label("with_due"),
        func.count(t.c.first_contact_at).label("contacted"),
        func.count().filter(t.c.first_contact_at <= t.c.due_at).label("within_due"),
        func.percentile_cont(0.5).within_group(first_contact_s).label("median_s"),
        func.count().filter(t.c.status == "done").label("done"),
        func.count().filter(active).label("open"),
        func.count().filter(active, t.c.due_at < now).label("overdue"),
    ).select_from(t)
    found: dict[Key, Counts] = {}
    for row in await session.execute(selection.grouped(figures, t)):
        found[_key(row)] = Counts(
            tasks=row.tasks, detractors_with_task=row.detractors, with_due=row.with_due,
            contacted=row.contacted, contacted_within_due=row.within_due,
            median_first_contact_s=row.median_s, done=row.done, open=row.open,
            overdue_now=row.overdue,
        )  # fmt: skip
    found.setdefault(None, Counts())
    outcomes = select(t.c.outcome, t.c.reason, func.count().label("n")).where(t.c.status == "done")
    for row in await session.execute(selection.grouped(outcomes, t, t.c.outcome, t.c.reason)):
        into = found[_key(row)]
        into.outcomes[row.outcome] = into.outcomes.get(row.outcome, 0) + row.n
        if row.reason is not None:
            into.reasons[row.reason] = into.reasons.get(row.reason, 0) + row.n
    return found


async def dimensions(session: AsyncSession, tenant: str, scope: Scope) -> Sequence[str]:
    """The segment dimensions the tenant's tasks carry (the reader's scope applied)."""
    keys = func.jsonb_object_keys(Task.segments)
    query = select(keys).distinct().where(Task.tenant == tenant, within(scope))
    return sorted(await session.scalars(query))


async def queue_health(
    session: AsyncSession, now: datetime, escalation_grace: timedelta
) -> list[dict[str, Any]]:
    """Every tenant with open or claimed tasks (`tenant`): how many (`open`), how many past due
    (`overdue`), how many of those the SLA clock escalated (`sla_breaches`: open breaches) and
    has not escalated `escalation_grace` after their due time (`not_escalated`), and how many no
    one owns (`unowned`: no assignee, no holder)."""
    active = Task.status.in_(ACTIVE)
    past_due = Task.due_at < now
    query = (
        select(
            Task.tenant,
            func.count().label("open"),
            func.count().filter(past_due).label("overdue"),
            func.count().filter(past_due, Task.escalated_at.is_not(None)).label("sla_breaches"),
            func.count()
            .filter(Task.due_at < now - escalation_grace, Task.escalated_at.is_(None))
            .label("not_escalated"),
            func.count()
            .filter(Task.assignee.is_(None), Task.claimed_by.is_(None))
            .label("unowned"),
        )
        .where(active)
        .group_by(Task.tenant)
        .order_by(Task.tenant)
    )
    return [dict(row._mapping) for row in await session.execute(query)]
