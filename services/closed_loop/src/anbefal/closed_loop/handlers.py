"""closed_loop's consumer handler: evaluate each new answer version against the rules, and keep
exactly one action per (answer, rule) up to date with its revisions.

- A new action of an answer without a comment is held for the debounce, so a version carrying
  the comment folds into it before anyone sees it; the releaser publishes it when the wait ends.
- A later version is re-evaluated: changed content makes a new revision (published at once if
  the previous one was); a rule that no longer matches cancels its action; a rule that now
  matches gets a new action that names the cancelled one in `supersedes`.
- A rule with `cooldown_days` does not make a second action of its type for a respondent who
  has one open: the answer is attached to it (a new revision of that action). Open: not
  cancelled, and notify has not reported its task completed (task events).

Everything happens in the consumer's transaction (offsets included), so a crash at any instant
decides each (answer, rule) once; outbox ids are derived from (action, revision).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anbefal.closed_loop import repository
from anbefal.closed_loop.models import ActionRow
from anbefal.closed_loop.owners import Directory
from anbefal.closed_loop.rules import (
    RuleSet,
    TenantDefaults,
    cooldown_window,
    decide,
    holiday_country,
)
from anbefal.common.events import (
    Action,
    AttachedAnswer,
    SurveyResponse,
    TaskEvent,
    TenantSettings,
)
from anbefal.common.kafka import Message

UNOWNED = Counter(
    "anbefal_closed_loop_unowned_actions_total",
    "Actions decided with no resolvable owner (tasks go to the tenant's fallback queue). "
    "A batch retried after a failure may count its actions again.",
    ["tenant", "type"],
)
# Fields that do not make a revision by themselves: a version that brings nothing new but its
# number and its receipt time must not disturb the task.
UNCHANGING = {"revision", "decided_at", "response_version", "received_at"}


@dataclass(frozen=True)
class Context:
    """What a tenant's answers are evaluated with."""

    defaults: TenantDefaults
    rule_set: RuleSet
    directory: Directory

    @property
    def country(self) -> str | None:
        return holiday_country(self.rule_set.holiday_country, self.defaults)

    def decide(self, response: SurveyResponse, now: datetime) -> list[Action]:
        return decide(
            response, self.defaults, now, self.rule_set.rules, self.directory, self.country
        )


async def contexts(
    session: AsyncSession, responses: Sequence[SurveyResponse]
) -> dict[str, Context]:
    tenants = {r.tenant for r in responses}
    accounts: dict[str, set[str]] = {t: set() for t in tenants}
    for r in responses:
        if r.respondent.account_id:
            accounts[r.tenant].add(r.respondent.account_id)
    defaults = await repository.tenant_defaults(session, tenants)
    rule_sets = await repository.rule_sets(session, tenants)
    clocked = {t for t in tenants if rule_sets[t].uses_business_hours}
    directories = await repository.directories(session, accounts, clocked)
    return {t: Context(defaults[t], rule_sets[t], directories[t]) for t in tenants}


def same(a: Action, b: Action) -> bool:
    return a.model_dump(exclude=UNCHANGING) == b.model_dump(exclude=UNCHANGING)


def next_revision(revision: int, released_revision: int) -> int:
    """A revision nobody has seen is replaced in place; a published one gets a successor."""
    return revision + 1 if released_revision >= revision else revision


class Evaluator:
    """One batch's decisions, in the consumer's transaction.

    The actions of the batch's answers and respondents are loaded (and locked) once; the
    cool-down's open action and the answers attached to it are then found in memory, where
    the rows created and changed by this batch are already up to date."""

    def __init__(self, session: AsyncSession, now: datetime, debounce_s: float) -> None:
        self.session = session
        self.now = now
        self.debounce = timedelta(seconds=debounce_s)
        self.released: list[Action] = []
        self.traces: dict[uuid.UUID, str | None] = {}
        self.rows: dict[uuid.UUID, ActionRow] = {}
        self.by_response: dict[uuid.UUID, list[ActionRow]] = defaultdict(list)
        self.by_respondent: dict[tuple[str, str], list[ActionRow]] = defaultdict(list)

    async def load(self, responses: Sequence[SurveyResponse]) -> None:
        rows = await repository.actions_for(
            self.session,
            [r.event_id for r in responses],
            {(r.tenant, r.respondent.key) for r in responses},
        )
        for row in rows:
            self.remember(row)

    def remember(self, row: ActionRow) -> None:
        self.rows[row.action_id] = row
        self.by_response[row.response_event_id].append(row)
        self.by_respondent[(row.tenant, row.respondent_key)].append(row)

    def open_action(
        self, response: SurveyResponse, action_type: str, days: int | None
    ) -> ActionRow | None:
        """The respondent's latest action of this type that is not cancelled, not attached
        itself and whose task notify has not closed, its answer within `days` of this one.
        No cool-down (`days` None): none."""
        if days is None:
            return None
        low, high = cooldown_window(response.answered_at, days)
        candidates = [
            r
            for r in self.by_respondent[(response.tenant, response.respondent.key)]
            if r.type == action_type
            and r.response_event_id != response.event_id
            and r.attach_to is None
            and not r.cancelled
            and r.task_closed_at is None
            and low < r.answered_at < high
        ]
        return max(candidates, key=lambda r: r.answered_at, default=None)

    def attached_to(self, root: ActionRow) -> list[ActionRow]:
        rows = [
            r
            for r in self.by_respondent[(root.tenant, root.respondent_key)]
            if r.attach_to == root.action_id and not r.cancelled
        ]
        return sorted(rows, key=lambda r: (r.answered_at, r.action_id))

    async def evaluate(self, response: SurveyResponse, context: Context) -> None:
        desired = {a.rule_id: a for a in context.decide(response, self.now)}
        rules = {rule.id: rule for rule in context.rule_set.rules}
        existing = {row.rule_id: row for row in self.by_response[response.event_id]}
        roots_to_rebuild: set[uuid.UUID] = set()
        cancelled: list[uuid.UUID] = []
        for rule_id, stale in existing.items():
            if rule_id in desired or stale.cancelled:
                continue
            stale.cancelled = True
            if stale.attach_to is not None:
                roots_to_rebuild.add(stale.attach_to)  # it leaves the open action's list
                continue
            cancelled.append(stale.action_id)
            old = Action.model_validate(stale.payload)
            self.schedule(stale, old.model_copy(update={"cancelled": True}))
            self.promote_attached(stale)
        for rule_id, action in desired.items():
            row = existing.get(rule_id)
            rule = rules[rule_id]
            was_attached = False
            if row is not None and row.attach_to is not None:
                root = self.rows.get(row.attach_to)
                if root is not None and not root.cancelled and root.attach_to is None:
                    row.cancelled = False
                    row.payload = action.model_dump(mode="json")
                    roots_to_rebuild.add(root.action_id)
                    continue
                # The action it was attached to is gone: decide afresh, as after a cancel.
                row.attach_to, row.cancelled, was_attached = None, True, True
            if row is not None and row.cancelled:
                # Wanted again after a cancellation: the cool-down applies as to a new one.
                root = self.open_action(response, rule.action, rule.cooldown_days)
                if root is not None:
                    row.attach_to, row.cancelled = root.action_id, False
                    row.payload = action.model_dump(mode="json")
                    roots_to_rebuild.add(root.action_id)
                    continue
            if row is not None:
                # The attached answers as they are now (a reinstated action's were handed on).
                kept = {
                    "attached": self.attachments(row),
                    "supersedes": Action.model_validate(row.payload).supersedes,
                }
                self.schedule(row, action.model_copy(update=kept), changed=was_attached)
                continue
            root = self.open_action(response, rule.action, rule.cooldown_days)
            row = self.new_row(action, self.traces.get(response.event_id))
            if root is not None:
                row.attach_to = root.action_id
                roots_to_rebuild.add(root.action_id)
                continue
            if action.assignee is None:
                UNOWNED.labels(action.tenant, action.type).inc()
            if cancelled:
                action = action.model_copy(update={"supersedes": cancelled[0]})
            self.schedule(row, action)
        for root_id in roots_to_rebuild:
            self.rebuild(self.rows[root_id])

    def new_row(self, action: Action, trace_id: str | None) -> ActionRow:
        row = ActionRow(
            action_id=action.action_id, tenant=action.tenant,
            response_event_id=action.response_event_id, rule_id=action.rule_id,
            type=action.type, respondent_key=action.respondent.key,
            answered_at=action.answered_at, revision=1, released_revision=0, cancelled=False,
            attach_to=None, release_at=None, payload=action.model_dump(mode="json"),
            trace_id=trace_id, task_closed_at=None,
        )  # fmt: skip
        self.session.add(row)
        self.remember(row)
        return row

    def schedule(self, row: ActionRow, action: Action, *, changed: bool = False) -> None:
        """Store `action` as the row's latest revision, and publish it, hold it or drop it.
        Nothing happens if it says what the row's payload says, unless `changed`: the payload
        of a row that was attached is not what notify last heard of it."""
        if not changed and (row.released_revision > 0 or row.release_at is not None):
            if same(Action.model_validate(row.payload), action):
                return
        revision = next_revision(row.revision, row.released_revision)
        action = action.model_copy(update={"revision": revision})
        row.revision, row.cancelled = revision, action.cancelled
        row.payload = action.model_dump(mode="json")
        if row.released_revision == 0 and action.cancelled:
            row.release_at = None  # withdrawn before anyone saw it: nothing to tell
        elif row.released_revision == 0 and not action.comment and self.debounce:
            # Keep the first answer's window: later versions do not push the deadline out.
            row.release_at = row.release_at or self.now + self.debounce
        else:
            row.release_at = None
            row.released_revision = revision
            self.released.append(action)
            self.traces.setdefault(action.response_event_id, row.trace_id)

    def attachments(self, root: ActionRow) -> list[AttachedAnswer]:
        return [attachment(Action.model_validate(r.payload)) for r in self.attached_to(root)]

    def rebuild(self, root: ActionRow) -> None:
        """The open action with the answers attached to it now."""
        if root.cancelled:
            return
        current = Action.model_validate(root.payload)
        self.schedule(root, current.model_copy(update={"attached": self.attachments(root)}))

    def promote_attached(self, root: ActionRow) -> None:
        """A cancelled open action hands its attached answers on: the earliest becomes the
        open action, the others are attached to it. Never dropped."""
        rows = self.attached_to(root)
        if not rows:
            return
        first, rest = rows[0], rows[1:]
        first.attach_to = None
        for r in rest:
            r.attach_to = first.action_id
        action = Action.model_validate(first.payload)
        attached = self.attachments(first)
        self.schedule(first, action.model_copy(update={"attached": attached}), changed=True)


def attachment(action: Action) -> AttachedAnswer:
    return AttachedAnswer(
        response_event_id=action.response_event_id, response_version=action.response_version,
        score=action.score, comment=action.comment, answered_at=action.answered_at,
    )  # fmt: skip


async def handle(
    session: AsyncSession, messages: Sequence[Message], *, debounce_s: float = 0.0
) -> None:
    settings = [m.event for m in messages if isinstance(m.event, TenantSettings)]
    if settings:
        await repository.upsert_tenants(session, settings)
    task_events = [m.event for m in messages if isinstance(m.event, TaskEvent)]
    if task_events:
        await repository.record_task_events(session, task_events)
    # In offset order: versions of one answer share a key, hence a partition, hence this order.
    responses: dict[tuple[uuid.UUID, int], SurveyResponse] = {}
    traces: dict[uuid.UUID, str | None] = {}
    for m in messages:
        if isinstance(m.event, SurveyResponse):
            responses.setdefault((m.event.event_id, m.event.version), m.event)
            traces[m.event.event_id] = m.trace_id
    if not responses:
        return
    new = await repository.claim_new(session, list(responses.values()))
    # Of several new versions of one answer in the batch only the latest is evaluated: the
    # earlier ones are superseded before anyone could act on them (a late comment folds in).
    latest: dict[uuid.UUID, SurveyResponse] = {}
    for pair, response in responses.items():
        if pair in new and (
            response.event_id not in latest or response.version > latest[response.event_id].version
        ):
            latest[response.event_id] = response
    if not latest:
        return
    # A version older than the one stored arrived late: the newer decision stands.
    stored = await repository.store_answers(session, list(latest.values()))
    fresh = [r for r in latest.values() if r.event_id in stored]
    if not fresh:
        return
    by_tenant = await contexts(session, fresh)
    evaluator = Evaluator(session, datetime.now(UTC), debounce_s)
    evaluator.traces.update(traces)
    await evaluator.load(fresh)
    for response in fresh:
        await evaluator.evaluate(response, by_tenant[response.tenant])
    await session.flush()
    await repository.add_to_outbox(session, evaluator.released, evaluator.traces)


async def release_due(
    sessionmaker: async_sessionmaker[AsyncSession],
    batch: int = 200,
    now: datetime | None = None,
) -> int:
    """Publish held revisions whose debounce is over (one transaction; copies share the work)."""
    async with sessionmaker() as session, session.begin():
        rows = await repository.held_until(session, now or datetime.now(UTC), batch)
        if not rows:
            return 0
        actions = []
        for row in rows:
            row.release_at = None
            row.released_revision = row.revision
            actions.append(Action.model_validate(row.payload))
        traces = {row.response_event_id: row.trace_id for row in rows}
        await repository.add_to_outbox(session, actions, traces)
        return len(rows)
