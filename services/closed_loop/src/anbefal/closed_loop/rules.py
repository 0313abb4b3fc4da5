"""Routing rules, pure: which actions an answer calls for (DESIGN.md, the table at the top).

0-6: a call task for the director, due 48 hours after the answer (the customer's clock);
7-8: a follow-up task for the salesperson, due after the tenant's follow-up days;
9-10: a thank-you email to the respondent, from the director, right away.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from anbefal.common.events import Action, ActionType, SurveyResponse, action_id

AssigneeRole = Literal["director", "salesperson"]
RuleId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
TASK_ACTIONS = {"call_task", "follow_up_task"}
TEMPLATES = {"thank_you", "ask_why"}


class Rule(BaseModel):
    """One routing rule. Conditions all have to hold; the first matching rule with `stop`
    ends the evaluation. An answer gets at most one action per rule."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: RuleId
    enabled: bool = True
    kind: Literal["nps", "enps"] = "nps"
    min_score: int = Field(ge=0, le=10)
    max_score: int = Field(ge=0, le=10)
    segments: dict[str, str] = Field(default_factory=dict, description="all must match")
    has_comment: bool | None = Field(default=None, description="None: either way")
    action: ActionType
    assignee_role: AssigneeRole
    due_hours: int | None = Field(default=None, ge=1, le=24 * 365)
    due_follow_up_days: bool = Field(default=False, description="due after the tenant's days")
    template: str | None = None
    priority: int = Field(default=0, ge=0, le=9)
    stop: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.min_score > self.max_score:
            raise ValueError(f"min_score {self.min_score} is above max_score {self.max_score}")
        if self.action == "email" and self.template not in TEMPLATES:
            raise ValueError(f"an email rule needs a template, one of {sorted(TEMPLATES)}")
        if self.action in TASK_ACTIONS and self.due_hours is None and not self.due_follow_up_days:
            raise ValueError("a task rule needs due_hours or due_follow_up_days")
        if self.action == "chat_message":
            raise ValueError("chat messages are not supported yet")
        return self

    def matches(self, response: SurveyResponse) -> bool:
        return (
            self.enabled
            and response.kind == self.kind
            and self.min_score <= response.score <= self.max_score
            and all(response.segments.get(k) == v for k, v in self.segments.items())
            and (self.has_comment is None or bool(response.comment) == self.has_comment)
        )


class RuleSet(BaseModel):
    """A tenant's ordered rules."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rules: list[Rule] = Field(max_length=100)
    # eNPS answers reach individuals only when the tenant says so (DESIGN §6).
    enps_individual_follow_up: bool = False

    @model_validator(mode="after")
    def _valid_set(self) -> Self:
        ids = [r.id for r in self.rules]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"rule ids must be unique; repeated: {', '.join(duplicates)}")
        if not self.enps_individual_follow_up:
            for i, rule in enumerate(self.rules):
                if rule.kind == "enps":
                    raise ValueError(
                        f"rule {i} ({rule.id}) routes eNPS answers to a person; "
                        "set enps_individual_follow_up to true to allow that"
                    )
        return self


DEFAULT_RULE_SET = RuleSet(
    rules=[
        Rule(id="detractor-call", min_score=0, max_score=6, action="call_task",
             assignee_role="director", due_hours=48, priority=2),
        Rule(id="passive-follow-up", min_score=7, max_score=8, action="follow_up_task",
             assignee_role="salesperson", due_follow_up_days=True, priority=1),
        Rule(id="promoter-thank-you", min_score=9, max_score=10, action="email",
             assignee_role="director", template="thank_you"),
        # Seed practice: ask everyone who scored without a comment why. Off until switched on.
        Rule(id="ask-why", enabled=False, min_score=0, max_score=10, has_comment=False,
             action="email", assignee_role="director", template="ask_why"),
    ]
)  # fmt: skip
DEFAULT_RULES: tuple[Rule, ...] = tuple(DEFAULT_RULE_SET.rules)


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
    rules: Sequence[Rule] = DEFAULT_RULES,
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
        if rule.stop:
            break
    return actions
