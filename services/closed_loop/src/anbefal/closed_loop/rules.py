"""Routing rules, pure: which actions an answer calls for (DESIGN.md, the table at the top).

0-6: a call task for the director, due 48 hours after the answer (the customer's clock);
7-8: a follow-up task for the salesperson, due after the tenant's follow-up days;
9-10: a thank-you email to the respondent, from the director, right away.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from anbefal.common.events import Action, ActionType, SurveyResponse, action_id

AssigneeRole = Literal["director", "salesperson"]


@dataclass(frozen=True)
class Rule:
    id: str
    kind: Literal["nps", "enps"]
    min_score: int
    max_score: int
    action: ActionType
    assignee_role: AssigneeRole
    due_hours: int | None = None
    due_follow_up_days: bool = False  # due after the tenant's `follow_up_days`
    template: str | None = None
    priority: int = 0

    def matches(self, response: SurveyResponse) -> bool:
        return response.kind == self.kind and self.min_score <= response.score <= self.max_score


DEFAULT_RULES: tuple[Rule, ...] = (
    Rule("detractor-call", "nps", 0, 6, "call_task", "director", due_hours=48, priority=2),
    Rule(
        "passive-follow-up",
        "nps",
        7,
        8,
        "follow_up_task",
        "salesperson",
        due_follow_up_days=True,
        priority=1,
    ),
    Rule("promoter-thank-you", "nps", 9, 10, "email", "director", template="thank_you"),
)


@dataclass(frozen=True)
class TenantDefaults:
    director: str | None = None
    salesperson: str | None = None
    follow_up_days: int = 5


def owner(response: SurveyResponse, role: AssigneeRole, defaults: TenantDefaults) -> str | None:
    """The answer's own hint first, then the tenant's default; None means the fallback queue."""
    hinted = response.owners.director if role == "director" else response.owners.salesperson
    return hinted or (defaults.director if role == "director" else defaults.salesperson)


def decide(
    response: SurveyResponse,
    defaults: TenantDefaults,
    now: datetime,
    rules: tuple[Rule, ...] = DEFAULT_RULES,
) -> list[Action]:
    actions = []
    for rule in rules:
        if not rule.matches(response):
            continue
        # Python adds a timedelta to an aware datetime on the wall clock of its zone, so across
        # a daylight-saving change "+48 h" in Europe/Copenhagen would be 47 or 49 real hours.
        # In UTC wall clock and real time agree.
        answered_utc = response.answered_at.astimezone(UTC)
        if rule.due_hours is not None:
            due_at: datetime | None = answered_utc + timedelta(hours=rule.due_hours)
        elif rule.due_follow_up_days:
            due_at = answered_utc + timedelta(days=defaults.follow_up_days)
        else:
            due_at = None
        actions.append(
            Action(
                action_id=action_id(response.event_id, rule.id),
                tenant=response.tenant,
                type=rule.action,
                rule_id=rule.id,
                response_event_id=response.event_id,
                response_version=response.version,
                kind=response.kind,
                score=response.score,
                comment=response.comment,
                answered_at=response.answered_at,
                decided_at=now,
                assignee=owner(response, rule.assignee_role, defaults),
                assignee_role=rule.assignee_role,
                due_at=due_at,
                priority=rule.priority,
                template=rule.template,
                respondent=response.respondent,
                segments=response.segments,
                received_at=response.received_at,
            )
        )
    return actions
