"""The action model, pure: one action per (answer, rule), its revisions, and the rules that move it.

Production (the consumer handler, over a book loaded from PostgreSQL) and the dry run (over an
in-memory book) run this same code, so a dry run reports what production does.

- A new action of an answer without a comment is held for the debounce, so a version carrying
  the comment folds into it before anyone sees it; the releaser publishes it when the wait ends.
- A later version is re-evaluated: changed content makes a new revision (published at once if
  the previous one was); a rule that no longer matches cancels its action; a rule that now
  matches gets a new action that names the cancelled one in `supersedes`.
- A rule with `cooldown_days` does not make a second action of its type for a respondent who
  has one open: the answer is attached to it (a new revision of that action). Open: not
  cancelled, and notify has not reported its task completed (task events). A cancelled open
  action hands its attached answers on: the earliest becomes the open action.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from anbefal.closed_loop.rules import NotRouted, TenantRules, cooldown_window, first_sight
from anbefal.common.events import Action, AttachedAnswer, SurveyResponse, TaskEvent

# Fields that do not make a revision by themselves: a version that brings nothing new but its
# number and its receipt time must not disturb the task.
UNCHANGING = {"revision", "decided_at", "response_version", "received_at"}


@dataclass
class ActionState:
    """One (answer, rule)'s action. `payload` is its latest revision; `release_at` set: that
    revision is held for the debounce. An attached action (`attach_to`) is an answer folded
    into another action in the respondent's cool-down, published only as part of it. The
    identity fields (respondent, type, answer time) are those of the answer's first decision."""

    action_id: uuid.UUID
    tenant: str
    response_event_id: uuid.UUID
    rule_id: str
    type: str
    respondent_key: str
    answered_at: datetime
    revision: int
    released_revision: int  # 0: nothing published yet
    cancelled: bool
    attach_to: uuid.UUID | None
    release_at: datetime | None
    payload: Action
    trace_id: str | None
    task_closed_at: datetime | None

    def payload_mark(self) -> object:
        """What tells a replaced payload from the one checkpointed: the payload itself (it is
        never changed in place, only replaced). A stored state marks it by the text it was
        loaded from, so telling needs no parse."""
        return self.payload

    @classmethod
    def new(cls, action: Action, trace_id: str | None) -> ActionState:
        return cls(
            action_id=action.action_id, tenant=action.tenant,
            response_event_id=action.response_event_id, rule_id=action.rule_id,
            type=action.type, respondent_key=action.respondent.key,
            answered_at=action.answered_at, revision=1, released_revision=0, cancelled=False,
            attach_to=None, release_at=None, payload=action, trace_id=trace_id,
            task_closed_at=None,
        )  # fmt: skip


class Book:
    """The actions a batch may touch: those of its answers and of their respondents (and of
    the tasks its task events name). Remembers what it was given, so it can tell what changed."""

    def __init__(self, states: Iterable[ActionState] = ()) -> None:
        self.states: dict[uuid.UUID, ActionState] = {}
        self._by_response: dict[uuid.UUID, list[ActionState]] = defaultdict(list)
        self._by_respondent: dict[tuple[str, str], list[ActionState]] = defaultdict(list)
        self._loaded: dict[uuid.UUID, tuple[object, ...]] = {}
        for state in states:
            self._remember(state)
        self.checkpoint()

    def _remember(self, state: ActionState) -> None:
        self.states[state.action_id] = state
        self._by_response[state.response_event_id].append(state)
        self._by_respondent[(state.tenant, state.respondent_key)].append(state)

    def add(self, state: ActionState) -> None:
        self._remember(state)

    def get(self, action_id: uuid.UUID) -> ActionState | None:
        return self.states.get(action_id)

    def of_response(self, response_event_id: uuid.UUID) -> list[ActionState]:
        return self._by_response[response_event_id]

    def of_respondent(self, tenant: str, respondent_key: str) -> list[ActionState]:
        return self._by_respondent[(tenant, respondent_key)]

    def changes(self) -> tuple[list[ActionState], list[ActionState]]:
        """(new, changed) since the book was loaded or last checkpointed."""
        new = [s for i, s in self.states.items() if i not in self._loaded]
        changed = [
            s
            for i, s in self.states.items()
            if i in self._loaded and _changeable(s) != self._loaded[i]
        ]
        return new, changed

    def checkpoint(self) -> None:
        self._loaded = {i: _changeable(s) for i, s in self.states.items()}


def _changeable(state: ActionState) -> tuple[object, ...]:
    """The fields a decision may change (the others are the action's identity). A payload is
    never changed in place, only replaced (`Action` is frozen)."""
    return (
        state.revision, state.released_revision, state.cancelled, state.attach_to,
        state.release_at, state.payload_mark(), state.trace_id, state.task_closed_at,
    )  # fmt: skip


@dataclass
class Decision:
    """What a batch decided: the revisions to publish (with their trace), the new actions
    nobody owns (for the fallback queue), and the (answer, rule) pairs not acted on because the
    answer is history or was too old when it reached us."""

    released: list[tuple[Action, str | None]] = field(default_factory=list)
    unowned: list[Action] = field(default_factory=list)
    not_routed: list[tuple[SurveyResponse, str, NotRouted]] = field(default_factory=list)


COMPARED = tuple(f for f in Action.model_fields if f not in UNCHANGING)


def same(a: Action, b: Action) -> bool:
    return all(getattr(a, f) == getattr(b, f) for f in COMPARED)


def next_revision(revision: int, released_revision: int) -> int:
    """A revision nobody has seen is replaced in place; a published one gets a successor."""
    return revision + 1 if released_revision >= revision else revision


def attachment(action: Action) -> AttachedAnswer:
    return AttachedAnswer(
        response_event_id=action.response_event_id, response_version=action.response_version,
        score=action.score, comment=action.comment, answered_at=action.answered_at,
    )  # fmt: skip


def release(state: ActionState) -> Action:
    """The held revision's wait is over: it is published."""
    state.release_at = None
    state.released_revision = state.revision
    return state.payload


# The task events that move an action's cool-down; the others change nothing here.
COOL_DOWN_EVENTS = frozenset({"completed", "reopened"})


def task_event(book: Book, event: TaskEvent) -> None:
    """A completed task closes its action for the cool-down; a reopened one opens it again."""
    state = book.get(event.action_id)
    if state is None or event.type not in COOL_DOWN_EVENTS:
        return
    state.task_closed_at = event.at if event.type == "completed" else None


def latest_versions(responses: Sequence[SurveyResponse]) -> list[SurveyResponse]:
    """Of several versions of one answer in a batch only the latest is evaluated: the earlier
    ones are superseded before anyone could act on them (a late comment folds in). In the
    order each answer first came. Whether that version is new is the stored answers' to say
    (a version not newer than the one stored decides nothing)."""
    latest: dict[uuid.UUID, SurveyResponse] = {}
    for response in responses:
        current = latest.get(response.event_id)
        if current is None or response.version > current.version:
            latest[response.event_id] = response
    return list(latest.values())


def decide_batch(
    book: Book,
    responses: Sequence[SurveyResponse],
    rules: Mapping[str, TenantRules],
    now: datetime,
    debounce_s: float,
    traces: Mapping[uuid.UUID, str | None] | None = None,
) -> Decision:
    """Evaluate each answer (in the order given) against its tenant's rules, in `book`."""
    decider = Decider(book, now, debounce_s, traces or {})
    for response in responses:
        decider.evaluate(response, rules[response.tenant])
    return decider.decision


class Decider:
    """One batch's decisions over a book, where the actions created and changed by the batch
    are already up to date for the answers after them."""

    def __init__(
        self,
        book: Book,
        now: datetime,
        debounce_s: float,
        traces: Mapping[uuid.UUID, str | None],
    ) -> None:
        self.book = book
        self.now = now
        self.debounce = timedelta(seconds=debounce_s)
        self.traces = dict(traces)
        self.decision = Decision()

    def open_action(
        self, response: SurveyResponse, action_type: str, days: int | None
    ) -> ActionState | None:
        """The respondent's latest action of this type that is not cancelled, not attached
        itself and whose task notify has not closed, its answer within `days` of this one.
        No cool-down (`days` None): none."""
        if days is None:
            return None
        low, high = cooldown_window(response.answered_at, days)
        candidates = [
            s
            for s in self.book.of_respondent(response.tenant, response.respondent.key)
            if s.type == action_type
            and s.response_event_id != response.event_id
            and s.attach_to is None
            and not s.cancelled
            and s.task_closed_at is None
            and low < s.answered_at < high
        ]
        # Ties broken by id: the choice must not depend on the order the rows were loaded in.
        return max(candidates, key=lambda s: (s.answered_at, s.action_id), default=None)

    def attached_to(self, root: ActionState) -> list[ActionState]:
        states = [
            s
            for s in self.book.of_respondent(root.tenant, root.respondent_key)
            if s.attach_to == root.action_id and not s.cancelled
        ]
        return sorted(states, key=lambda s: (s.answered_at, s.action_id))

    def evaluate(self, response: SurveyResponse, rules: TenantRules) -> None:
        by_id = rules.by_id
        # In rule order (rules since removed last), not the order the rows were loaded in:
        # the first cancelled action is the one a new action supersedes.
        mine = self.book.of_response(response.event_id)
        wanted = rules.decide(response, self.now)
        if not mine:
            wanted, skipped = first_sight(response, wanted, by_id)
            self.decision.not_routed.extend((response, rule, why) for rule, why in skipped)
        desired = {a.rule_id: a for a in wanted}
        ranked = sorted(mine, key=lambda s: (rules.position(s.rule_id), s.rule_id))
        existing = {s.rule_id: s for s in ranked}
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
            self.schedule(stale, stale.payload.model_copy(update={"cancelled": True}))
            self.promote_attached(stale)
        for rule_id, action in desired.items():
            state = existing.get(rule_id)
            rule = by_id[rule_id]
            was_attached = False
            if state is not None and state.attach_to is not None:
                root = self.book.get(state.attach_to)
                if root is not None and not root.cancelled and root.attach_to is None:
                    state.cancelled, state.payload = False, action
                    roots_to_rebuild.add(root.action_id)
                    continue
                # The action it was attached to is gone: decide afresh, as after a cancel.
                state.attach_to, state.cancelled, was_attached = None, True, True
            if state is not None and state.cancelled:
                # Wanted again after a cancellation: the cool-down applies as to a new one.
                root = self.open_action(response, rule.action, rule.cooldown_days)
                if root is not None:
                    state.attach_to, state.cancelled = root.action_id, False
                    state.payload = action
                    roots_to_rebuild.add(root.action_id)
                    continue
            if state is not None:
                # The attached answers as they are now (a reinstated action's were handed on).
                kept = {"attached": self.attachments(state), "supersedes": state.payload.supersedes}
                self.schedule(state, action.model_copy(update=kept), changed=was_attached)
                continue
            root = self.open_action(response, rule.action, rule.cooldown_days)
            state = ActionState.new(action, self.traces.get(response.event_id))
            self.book.add(state)
            if root is not None:
                state.attach_to = root.action_id
                roots_to_rebuild.add(root.action_id)
                continue
            if action.assignee is None:
                self.decision.unowned.append(action)
            if cancelled:
                action = action.model_copy(update={"supersedes": cancelled[0]})
            self.schedule(state, action)
        for root_id in roots_to_rebuild:
            self.rebuild(self.book.states[root_id])

    def schedule(self, state: ActionState, action: Action, *, changed: bool = False) -> None:
        """Store `action` as the latest revision, and publish it, hold it or drop it. Nothing
        happens if it says what the payload says, unless `changed`: the payload of an action
        that was attached is not what notify last heard of it."""
        if not changed and (state.released_revision > 0 or state.release_at is not None):
            if same(state.payload, action):
                return
        revision = next_revision(state.revision, state.released_revision)
        if action.revision != revision:
            action = action.model_copy(update={"revision": revision})
        state.revision, state.cancelled, state.payload = revision, action.cancelled, action
        if state.released_revision == 0 and action.cancelled:
            state.release_at = None  # withdrawn before anyone saw it: nothing to tell
        elif state.released_revision == 0 and not action.comment and self.debounce:
            # Keep the first answer's window: later versions do not push the deadline out.
            state.release_at = state.release_at or self.now + self.debounce
        else:
            state.release_at = None
            state.released_revision = revision
            trace = self.traces.setdefault(action.response_event_id, state.trace_id)
            self.decision.released.append((action, trace))

    def attachments(self, root: ActionState) -> list[AttachedAnswer]:
        return [attachment(s.payload) for s in self.attached_to(root)]

    def rebuild(self, root: ActionState) -> None:
        """The open action with the answers attached to it now."""
        if root.cancelled:
            return
        attached = self.attachments(root)
        self.schedule(root, root.payload.model_copy(update={"attached": attached}))

    def promote_attached(self, root: ActionState) -> None:
        """A cancelled open action hands its attached answers on: the earliest becomes the
        open action, the others are attached to it. Never dropped."""
        states = self.attached_to(root)
        if not states:
            return
        first, rest = states[0], states[1:]
        first.attach_to = None
        for s in rest:
            s.attach_to = first.action_id
        attached = self.attachments(first)
        self.schedule(first, first.payload.model_copy(update={"attached": attached}), changed=True)
