"""The dry run, pure: production's action model over an in-memory book.

`DryRun.feed` takes a batch of answer versions as the consumer does (a version seen before
decides nothing again, of several new versions of one answer only the latest counts, one older
than the answer's stored version is too late), so it ends where production ends: the same
actions, attached answers, cancellations and owners. `simulate` feeds it a period's stored
answers, oldest first, and counts the outcome per rule.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from anbefal.closed_loop.actions import ActionState, Book, decide_batch, latest_new
from anbefal.closed_loop.owners import Directory
from anbefal.closed_loop.rules import RoutingSettings, RuleSet, TenantRules
from anbefal.common.events import Action, ActionType, SurveyResponse


class DryRun:
    """One tenant's answers under one rule set, decided as production decides them."""

    def __init__(self, rules: TenantRules, now: datetime) -> None:
        self.rules, self.now = rules, now
        self.book = Book()
        self.seen: set[tuple[uuid.UUID, int]] = set()  # production's inbox of versions
        self.stored: dict[uuid.UUID, int] = {}  # each answer's latest version
        self.answers: list[uuid.UUID] = []  # in the order they first came

    def feed(self, batch: Sequence[SurveyResponse]) -> None:
        new = {(r.event_id, r.version) for r in batch} - self.seen
        self.seen |= new
        fresh = []
        for response in latest_new(batch, new):
            if response.version > self.stored.get(response.event_id, 0):
                if response.event_id not in self.stored:
                    self.answers.append(response.event_id)
                self.stored[response.event_id] = response.version
                fresh.append(response)
        # Nothing waits in a dry run: every decision is published at once.
        rules = {r.tenant: self.rules for r in fresh}
        decide_batch(self.book, fresh, rules, self.now, 0.0)

    def final(self) -> list[ActionState]:
        """Every action decided, in the order it was first decided."""
        return list(self.book.states.values())


@dataclass
class RuleOutcome:
    rule_id: str
    type: ActionType
    actions: int = 0
    attached: int = 0  # folded into an open action by the cool-down, no action of their own
    unowned: int = 0  # for the fallback queue
    examples: list[Action] = field(default_factory=list)


def simulate(
    responses: Sequence[SurveyResponse],
    defaults: RoutingSettings,
    rule_set: RuleSet,
    directory: Directory,
    now: datetime,
    examples: int = 3,
) -> tuple[list[RuleOutcome], int]:
    """What `rule_set` would have done to `responses` (in the order given, oldest first), the
    cool-down included. Returns the outcome per rule (in rule order) and the number of answers
    that would have got no action at all."""
    run = DryRun(TenantRules(defaults, rule_set, directory), now)
    run.feed(responses)
    outcomes = {r.id: RuleOutcome(r.id, r.action) for r in rule_set.rules}
    acted: set[uuid.UUID] = set()
    for state in run.final():
        if state.cancelled:
            continue
        acted.add(state.response_event_id)
        outcome = outcomes[state.rule_id]
        if state.attach_to is not None:
            outcome.attached += 1
            continue
        outcome.actions += 1
        outcome.unowned += state.payload.assignee is None
        if len(outcome.examples) < examples:
            outcome.examples.append(state.payload)
    return list(outcomes.values()), len(set(run.answers) - acted)
