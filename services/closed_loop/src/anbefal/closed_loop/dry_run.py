"""The dry run, pure: production's action model over an in-memory book.

`DryRun.feed` takes a batch of answer versions as the consumer does (a version seen before
decides nothing again, of several new versions of one answer only the latest counts, one older
than the answer's stored version is too late), so it ends where production ends: the same
actions, attached answers, cancellations and owners. `simulate` feeds it a period's stored
answers, oldest first, and counts the outcome per rule. `report` is what a reader may see of
it: eNPS answers only when the tenant's stored rules route them to people, eNPS counts only
when they describe at least k people, never an eNPS example. `report_off_loop` runs `report`
where it cannot stall the service: in a worker thread, a few at a time, cut at a time limit.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from anbefal.closed_loop.actions import ActionState, Book, decide_batch, latest_versions
from anbefal.closed_loop.owners import Directory
from anbefal.closed_loop.rules import NotRouted, RoutingSettings, RuleSet, TenantRules
from anbefal.common.errors import TooManyRequests, Unprocessable
from anbefal.common.events import Action, ActionType, Kind, SurveyResponse

# Dry runs computing at once in one process; each holds a thread until its report is done.
_SLOTS = asyncio.Semaphore(2)


class DryRun:
    """One tenant's answers under one rule set, decided as production decides them."""

    def __init__(self, rules: TenantRules, now: datetime) -> None:
        self.rules, self.now = rules, now
        self.book = Book()
        self.stored: dict[uuid.UUID, int] = {}  # each answer's latest version
        self.answers: list[uuid.UUID] = []  # in the order they first came
        self.not_routed: list[tuple[str, NotRouted]] = []  # (rule, why) per answer left alone

    def feed(self, batch: Sequence[SurveyResponse]) -> None:
        fresh = []
        # As production: the stored versions are the inbox (a version not newer decides nothing).
        for response in latest_versions(batch):
            if response.version > self.stored.get(response.event_id, 0):
                if response.event_id not in self.stored:
                    self.answers.append(response.event_id)
                self.stored[response.event_id] = response.version
                fresh.append(response)
        # Nothing waits in a dry run: every decision is published at once.
        rules = {r.tenant: self.rules for r in fresh}
        decision = decide_batch(self.book, fresh, rules, self.now, 0.0)
        self.not_routed += [(rule_id, why) for _, rule_id, why in decision.not_routed]

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
    too_old: int = 0  # matched, but older than the rule's max_age_hours when received
    history: int = 0  # matched, but history (imported): never routed
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
    for rule_id, why in run.not_routed:
        if why == "history":
            outcomes[rule_id].history += 1
        else:
            outcomes[rule_id].too_old += 1
    return list(outcomes.values()), len(set(run.answers) - acted)


@dataclass
class ShownOutcome:
    """A rule's outcome as a reader may see it: a count is None when withheld."""

    rule_id: str
    type: ActionType
    actions: int | None
    attached: int | None
    unowned: int | None
    too_old: int | None
    history: int | None
    examples: list[Action]


@dataclass
class Report:
    """A dry run as a reader may see it. `answers` and `without_action` count NPS answers only."""

    answers: int
    without_action: int
    enps_included: bool
    rules: list[ShownOutcome]
    in_force: dict[str, int | None]


def _withheld(count: int, kind: Kind, k: int) -> int | None:
    # The scores API's rule: an eNPS figure of fewer than k people (none too) is not shown.
    return None if kind == "enps" and count < k else count


def _by_kind(
    responses: Sequence[SurveyResponse],
    defaults: RoutingSettings,
    rule_set: RuleSet,
    directory: Directory,
    now: datetime,
    examples: int,
) -> tuple[list[RuleOutcome], int]:
    """`simulate` with each rule's outcome from its own kind's answers (a rule matches only its
    kind), and the NPS answers without an action."""
    nps = [r for r in responses if r.kind == "nps"]
    enps = [r for r in responses if r.kind == "enps"]
    from_nps, untouched = simulate(nps, defaults, rule_set, directory, now, examples)
    from_enps, _ = simulate(enps, defaults, rule_set, directory, now, 0)
    kinds = [r.kind for r in rule_set.rules]
    return [
        a if kind == "nps" else b for kind, a, b in zip(kinds, from_nps, from_enps, strict=True)
    ], untouched


def report(
    responses: Sequence[SurveyResponse],
    defaults: RoutingSettings,
    candidate: RuleSet,
    in_force: RuleSet,
    directory: Directory,
    now: datetime,
    examples: int,
    k: int,
) -> Report:
    """`candidate` and the rules `in_force` over `responses`, with eNPS anonymity kept.

    Whether eNPS answers reach the run is the stored rule set's decision: a candidate's own
    `enps_individual_follow_up` is whatever its author typed, and believing it would let anyone
    who may dry-run read single employees' answers. No eNPS example is ever shown, and `answers`
    and `without_action` leave eNPS out: with them in, two runs would difference a rule."""
    enps = in_force.enps_individual_follow_up
    fed = [r for r in responses if enps or r.kind != "enps"]
    outcomes, untouched = _by_kind(fed, defaults, candidate, directory, now, examples)
    current, _ = _by_kind(fed, defaults, in_force, directory, now, 0)
    rules = [
        ShownOutcome(
            o.rule_id, o.type, actions=_withheld(o.actions, rule.kind, k),
            attached=_withheld(o.attached, rule.kind, k),
            unowned=_withheld(o.unowned, rule.kind, k),
            too_old=_withheld(o.too_old, rule.kind, k),
            history=_withheld(o.history, rule.kind, k),
            examples=[a for a in o.examples if a.kind != "enps"],
        )
        for rule, o in zip(candidate.rules, outcomes, strict=True)
    ]  # fmt: skip
    return Report(
        answers=sum(r.kind == "nps" for r in fed), without_action=untouched,
        enps_included=enps, rules=rules,
        in_force={
            o.rule_id: _withheld(o.actions, rule.kind, k)
            for rule, o in zip(in_force.rules, current, strict=True)
        },
    )  # fmt: skip


async def report_off_loop(*args: Any, timeout_s: float) -> Report:
    """`report(*args)` in a worker thread: the event loop goes on serving requests, the consumer
    and the workers while it computes. Past `timeout_s` the caller gets a 422 naming the limit
    (a thread cannot be stopped: it finishes in the background and keeps its slot until then,
    so at most two reports ever compute at once)."""
    if _SLOTS.locked():
        raise TooManyRequests(
            "two dry runs are computing already; try again in a minute",
            headers={"Retry-After": "60"},
        )
    await _SLOTS.acquire()
    computing = asyncio.ensure_future(asyncio.to_thread(report, *args))
    computing.add_done_callback(lambda _: _SLOTS.release())
    try:
        return await asyncio.wait_for(asyncio.shield(computing), timeout_s)
    except TimeoutError:
        raise Unprocessable(
            f"the dry run took longer than its limit of {timeout_s:g} s "
            "(ANBEFAL_DRY_RUN_TIMEOUT_S): try a shorter period",
            code="dry_run_too_long",
        ) from None
