"""closed_loop's consumer handler: load, decide, save, enqueue.

The rules of an action's life (revisions, the debounce, cancel and supersede, the cool-down)
are the pure model in `actions`; here the book of actions a batch may touch is loaded from
PostgreSQL (and locked), the model decides, and the changed actions and the revisions to
publish are written in the consumer's transaction (offsets included), so a crash at any
instant decides each (answer, rule) once; outbox ids are derived from (action, revision).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.closed_loop import action_store, repository
from anbefal.closed_loop.actions import (
    COOL_DOWN_EVENTS,
    decide_batch,
    latest_versions,
    release,
    task_event,
)
from anbefal.closed_loop.models import OUTBOX, TENANTS, Tenant
from anbefal.closed_loop.privacy import erasure
from anbefal.common import metrics
from anbefal.common.crypto import Keyring
from anbefal.common.datakeys import DataKeys
from anbefal.common.erasure import erasure_handler, no_keyring
from anbefal.common.events import ErasureRequested, SurveyResponse, TaskEvent
from anbefal.common.kafka import HandlerContext, Subscriptions, utcnow
from anbefal.common.services import CLOSED_LOOP

UNOWNED = Counter(
    "anbefal_closed_loop_unowned_actions_total",
    "Actions decided with no resolvable owner (tasks go to the tenant's fallback queue). "
    "A batch retried after a failure may count its actions again.",
    ["tenant", "type"],
)
NOT_ROUTED = Counter(
    "anbefal_closed_loop_not_routed_total",
    "Rule matches not acted on: the answer is history (an import) or was older than the rule's "
    "max_age_hours when it reached ingest. A batch retried after a failure may count again.",
    ["reason"],
)


async def record_task_events(session: AsyncSession, events: Sequence[TaskEvent]) -> None:
    """Completed tasks close their action for the cool-down; reopened ones open it again.
    Events of one task share a key, hence a partition: they arrive in order. The other kinds
    (every new task is a `created`) change nothing here and lock no row."""
    events = [e for e in events if e.type in COOL_DOWN_EVENTS]
    if not events:
        return
    stored = await action_store.load_book(session, action_ids={e.action_id for e in events})
    for event in events:
        task_event(stored.book, event)
    await stored.save(session)


async def evaluate_answers(
    session: AsyncSession,
    responses: Sequence[SurveyResponse],
    traces: Mapping[uuid.UUID, str | None],
    debounce_s: float,
    now: datetime,
    keys: DataKeys,
) -> None:
    """Decide what the batch's new answer versions call for (`responses` in offset order:
    versions of one answer share a key, hence a partition, hence this order)."""
    latest = latest_versions(responses)
    # The stored answers are the inbox: a version not newer than the one stored (a
    # redelivery, or one that arrived late) decides nothing; the newer decision stands.
    stored = await repository.store_answers(session, latest)
    fresh = [r for r in latest if r.event_id in stored]
    if not fresh:
        return
    rules = await repository.tenant_rules(session, fresh)
    loaded = await action_store.load_book(
        session,
        [r.event_id for r in fresh],
        {(r.tenant, r.respondent.key) for r in fresh},
    )
    decision = decide_batch(loaded.book, fresh, rules, now, debounce_s, traces)
    await loaded.save(session)
    for action in decision.unowned:
        UNOWNED.labels(metrics.tenant_label(action.tenant), action.type).inc()
    for _, _, reason in decision.not_routed:
        NOT_ROUTED.labels(reason).inc()
    await action_store.add_to_outbox(session, decision.released, keys, loaded.encoded)


def subscriptions(
    debounce_s: float,
    keys: DataKeys,
    clock: Callable[[], datetime] = utcnow,
    keyring: Callable[[], Keyring] = no_keyring,
) -> Subscriptions[Tenant]:
    """`clock`: the batch's `now` (decision times and debounce deadlines are read from it);
    `keys`: the respondents' data keys, to seal what leaves; `keyring` opens erasure requests."""
    return Subscriptions(
        {
            TaskEvent: handle_task_events,
            SurveyResponse: partial(handle_answers, debounce_s=debounce_s, keys=keys),
            ErasureRequested: erasure_handler(CLOSED_LOOP.name, keyring, erasure.erase, OUTBOX),
        },
        tenants=TENANTS,
        clock=clock,
    )


async def handle_task_events(ctx: HandlerContext[Tenant], events: Sequence[TaskEvent]) -> None:
    await record_task_events(ctx.session, events)


async def handle_answers(
    ctx: HandlerContext[Tenant],
    answers: Sequence[SurveyResponse],
    *,
    debounce_s: float = 0.0,
    keys: DataKeys,
) -> None:
    traces = {a.event_id: ctx.trace_id(a) for a in answers}
    await evaluate_answers(ctx.session, answers, traces, debounce_s, ctx.now, keys)


async def release_due(
    session: AsyncSession, keys: DataKeys, batch: int = 200, now: datetime | None = None
) -> int:
    """Publish held revisions whose debounce is over, in the caller's transaction (rows are
    claimed with SKIP LOCKED, so copies share the work)."""
    held = await action_store.held_until(session, now or datetime.now(UTC), batch)
    states = list(held.book.states.values())
    if not states:
        return 0
    released = [(release(s), s.trace_id) for s in states]
    await held.save(session)
    await action_store.add_to_outbox(session, released, keys, held.encoded)
    return len(states)
