"""Routing rules, pure: which actions an answer calls for (the README's table at the top).

0-6: a call task for the director, due 48 hours after the answer (the customer's clock);
7-8: a follow-up task for the salesperson, due after the tenant's follow-up days;
9-10: a thank-you email to the respondent, from the director, right away.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import cached_property
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from anbefal.closed_loop.owners import EMPTY_DIRECTORY, AssigneeRole, Directory, resolve_source
from anbefal.closed_loop.sla import (
    COUNTRY_BY_ZONE,
    WorkingHours,
    business_hours_due,
    holiday_calendar,
    wall_clock_due,
)
from anbefal.common.events import TASK_ACTIONS, Action, ActionType, SurveyResponse, action_id
from anbefal.common.nps import DETRACTORS, PASSIVES, PROMOTERS, SCORES

RuleId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
TEMPLATES = {"thank_you", "ask_why"}
# How old an answer may be when it reaches us and still be acted on: a call about an answer
# of last month helps nobody, and a thank-you for it reads as a mistake.
DEFAULT_MAX_AGE_HOURS: dict[str, int] = {"call_task": 72}
DEFAULT_MAX_AGE_HOURS_OTHERS = 168
NotRouted = Literal["history", "older_than_max_age"]


def _refused(kind: str, message: str) -> PydanticCustomError:
    # Braces in a message would be read as placeholders.
    return PydanticCustomError(kind, message.replace("{", "(").replace("}", ")"))


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
    due_clock: Literal["wall", "business_hours"] = Field(
        default="wall",
        description="wall: real hours from the answer; business_hours: the assignee's working "
        "hours in their time zone, without their public holidays",
    )
    cooldown_days: int | None = Field(
        default=None,
        ge=1,
        le=365,
        description="a respondent's later answer within this many days of an open action of the "
        "same type is attached to it instead of making a second one",
    )
    max_age_hours: int = Field(
        default=DEFAULT_MAX_AGE_HOURS_OTHERS,
        ge=1,
        le=24 * 365,
        description="an answer older than this when it reached Anbefal is scored but not acted on "
        "(default 72 for call tasks, 168 for the others)",
    )

    @model_validator(mode="before")
    @classmethod
    def _default_max_age(cls, data: Any) -> Any:
        # The default depends on the action: the field's own default is the others' one.
        if isinstance(data, dict) and data.get("max_age_hours") is None:
            action = data.get("action")
            age = DEFAULT_MAX_AGE_HOURS.get(str(action), DEFAULT_MAX_AGE_HOURS_OTHERS)
            return {**data, "max_age_hours": age}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        # Each check has its own error type, so a form can say which field is wrong in its
        # reader's language; the message is the API caller's English.
        if self.min_score > self.max_score:
            raise _refused("score_range", f"min_score {self.min_score} is above max_score "
                           f"{self.max_score}")  # fmt: skip
        if self.action == "email" and self.template not in TEMPLATES:
            raise _refused(
                "template_needed", f"an email rule needs a template, one of {sorted(TEMPLATES)}"
            )
        if self.action in TASK_ACTIONS and self.due_hours is None and not self.due_follow_up_days:
            raise _refused("due_needed", "a task rule needs due_hours or due_follow_up_days")
        if self.action == "chat_message":
            raise _refused("chat_unsupported", "chat messages are not supported yet")
        if self.cooldown_days is not None and self.action not in TASK_ACTIONS:
            raise _refused("cooldown_tasks_only", "cooldown_days applies to task rules only")
        return self

    def too_old(self, response: SurveyResponse) -> bool:
        """Older than `max_age_hours` when ingest received it. Measured at receipt, not when
        closed_loop reads it, so a consumer's backlog never ages a fresh answer out."""
        return response.received_at - response.answered_at > timedelta(hours=self.max_age_hours)

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
    # eNPS answers reach individuals only when the tenant says so: a follow-up names the
    # employee who answered (docs/architecture.md §7).
    enps_individual_follow_up: bool = False
    holiday_country: str | None = Field(
        default=None,
        pattern=r"^[A-Z]{2}$",
        description="public holidays of business-hours clocks; None: by the tenant's time zone",
    )

    @property
    def uses_business_hours(self) -> bool:
        return any(r.due_clock == "business_hours" for r in self.rules)

    @model_validator(mode="after")
    def _valid_set(self) -> Self:
        ids = [r.id for r in self.rules]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise _refused("repeated_ids", "rule ids must be unique; repeated: "
                           + ", ".join(duplicates))  # fmt: skip
        if not self.enps_individual_follow_up:
            for i, rule in enumerate(self.rules):
                if rule.kind == "enps":
                    raise _refused(
                        "enps_not_allowed",
                        f"rule {i} ({rule.id}) routes eNPS answers to a person; "
                        "set enps_individual_follow_up to true to allow that",
                    )
        return self


DEFAULT_RULE_SET = RuleSet(
    rules=[
        Rule(id="detractor-call", min_score=DETRACTORS.low, max_score=DETRACTORS.high,
             action="call_task", assignee_role="director", due_hours=48, priority=2,
             cooldown_days=7),
        Rule(id="passive-follow-up", min_score=PASSIVES.low, max_score=PASSIVES.high,
             action="follow_up_task", assignee_role="salesperson", due_follow_up_days=True,
             priority=1),
        Rule(id="promoter-thank-you", min_score=PROMOTERS.low, max_score=PROMOTERS.high,
             action="email", assignee_role="director", template="thank_you"),
        # Seed practice: ask everyone who scored without a comment why. Off until switched on.
        Rule(id="ask-why", enabled=False, min_score=SCORES.low, max_score=SCORES.high,
             has_comment=False, action="email", assignee_role="director", template="ask_why"),
    ]
)  # fmt: skip
DEFAULT_RULES: tuple[Rule, ...] = tuple(DEFAULT_RULE_SET.rules)


@dataclass(frozen=True)
class RoutingSettings:
    """The part of a tenant's settings (`TenantSettings`, projected into closed_loop.tenants)
    that routing reads; these defaults stand for a tenant whose settings never came."""

    director: str | None = None
    salesperson: str | None = None
    follow_up_days: int = 5
    time_zone: str = "Europe/Copenhagen"


# Someone not in the tenant's people list works these hours in the tenant's time zone.
DEFAULT_WORK_START, DEFAULT_WORK_END = time(8, 0), time(16, 0)
HOURS_PER_WORKING_DAY = 8


def working_hours(
    assignee: str | None, defaults: RoutingSettings, directory: Directory, country: str | None
) -> WorkingHours:
    person = directory.person(assignee)
    if person is None:
        return WorkingHours(
            ZoneInfo(defaults.time_zone), DEFAULT_WORK_START, DEFAULT_WORK_END,
            frozenset(range(5)), holiday_calendar(country),
        )  # fmt: skip
    return WorkingHours(
        ZoneInfo(person.time_zone), person.work_start, person.work_end, person.weekdays,
        holiday_calendar(person.holiday_country or country),
    )  # fmt: skip


def holiday_country(rule_set_country: str | None, defaults: RoutingSettings) -> str | None:
    return rule_set_country or COUNTRY_BY_ZONE.get(defaults.time_zone)


def due_at(
    rule: Rule,
    response: SurveyResponse,
    assignee: str | None,
    defaults: RoutingSettings,
    directory: Directory,
    country: str | None,
) -> datetime | None:
    if rule.due_hours is not None:
        hours: float = rule.due_hours
    elif rule.due_follow_up_days:
        # On the business clock a follow-up day is a working day's hours.
        per_day = HOURS_PER_WORKING_DAY if rule.due_clock == "business_hours" else 24
        hours = defaults.follow_up_days * per_day
    else:
        return None
    if rule.due_clock == "business_hours":
        calendar = working_hours(assignee, defaults, directory, country)
        return business_hours_due(response.answered_at, hours, calendar)
    return wall_clock_due(response.answered_at, hours)


def decide(
    response: SurveyResponse,
    defaults: RoutingSettings,
    now: datetime,
    rules: Sequence[Rule] = DEFAULT_RULES,
    directory: Directory = EMPTY_DIRECTORY,
    country: str | None = None,
) -> list[Action]:
    """The actions `response` calls for under `rules`, one per matching rule (revision 1)."""
    actions = []
    for rule in rules:
        if not rule.matches(response):
            continue
        assignee, source = resolve_source(
            response, rule.assignee_role, directory, defaults.director, defaults.salesperson
        )
        # Nobody owns it: a task goes to the tenant's fallback queue, never nowhere.
        role = "team" if assignee is None and rule.action in TASK_ACTIONS else rule.assignee_role
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
                assignee=assignee,
                assignee_role=role,
                due_at=due_at(rule, response, assignee, defaults, directory, country),
                priority=rule.priority,
                template=rule.template,
                respondent=response.respondent,
                segments=response.segments,
                received_at=response.received_at,
                assignee_source=source,
                due_clock=rule.due_clock,
            )
        )
        if rule.stop:
            break
    return actions


@dataclass(frozen=True)
class TenantRules:
    """What a tenant's answers are evaluated with."""

    defaults: RoutingSettings
    rule_set: RuleSet
    directory: Directory = EMPTY_DIRECTORY

    @property
    def country(self) -> str | None:
        return holiday_country(self.rule_set.holiday_country, self.defaults)

    @cached_property
    def by_id(self) -> dict[str, Rule]:
        return {rule.id: rule for rule in self.rule_set.rules}

    def position(self, rule_id: str) -> int:
        """The rule's place in the rule set; a rule no longer in it comes after all."""
        return list(self.by_id).index(rule_id) if rule_id in self.by_id else len(self.by_id)

    def decide(self, response: SurveyResponse, now: datetime) -> list[Action]:
        return decide(
            response, self.defaults, now, self.rule_set.rules, self.directory, self.country
        )


def first_sight(
    response: SurveyResponse, actions: Sequence[Action], by_id: dict[str, Rule]
) -> tuple[list[Action], list[tuple[str, NotRouted]]]:
    """Of the actions an answer seen for the first time calls for, those to take, and the rules
    left out with why: nothing for history, nothing from a rule whose maximum age it exceeds.

    Only at first sight: an answer that already has actions is being corrected (a new version),
    and its actions follow it as before, however old it is."""
    if response.history:
        return [], [(a.rule_id, "history") for a in actions]
    kept: list[Action] = []
    skipped: list[tuple[str, NotRouted]] = []
    for action in actions:
        if by_id[action.rule_id].too_old(response):
            skipped.append((action.rule_id, "older_than_max_age"))
        else:
            kept.append(action)
    return kept, skipped


def cooldown_window(answered_at: datetime, days: int) -> tuple[datetime, datetime]:
    """Answers strictly inside this range of an open action's answer are attached to it."""
    return answered_at - timedelta(days=days), answered_at + timedelta(days=days)


def rule_set_changes(before: RuleSet, after: RuleSet) -> dict[str, object]:
    """What a save changed, for the audit trail: the rules added, removed and edited (by id),
    whether their order changed, and each set-wide flag from and to."""
    old = {r.id: r for r in before.rules}
    new = {r.id: r for r in after.rules}
    kept = [i for i in new if i in old]
    flags = ("enps_individual_follow_up", "holiday_country")
    return {
        "added": [i for i in new if i not in old],
        "removed": [i for i in old if i not in new],
        "edited": [i for i in kept if new[i] != old[i]],
        "reordered": kept != [i for i in old if i in new],
        **{
            f: {"from": getattr(before, f), "to": getattr(after, f)}
            for f in flags
            if getattr(before, f) != getattr(after, f)
        },
    }
