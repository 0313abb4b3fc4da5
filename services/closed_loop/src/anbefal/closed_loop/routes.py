"""closed_loop's API: each tenant's routing rules (versioned with an audit trail, and tried on
past answers in a dry run) and the owners that answers are routed to."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, Field, model_validator

from anbefal.closed_loop import repository
from anbefal.closed_loop.dependencies import ClosedLoopStateDep
from anbefal.closed_loop.dry_run import report_off_loop
from anbefal.closed_loop.models import OUTBOX, RuleSetHistory, RuleSetRow
from anbefal.closed_loop.rules import DEFAULT_RULE_SET, Rule, RuleSet, rule_set_changes
from anbefal.common import audit
from anbefal.common.auth import Principal, Role
from anbefal.common.deps import SessionDep, TenantPath, allow
from anbefal.common.events import ActionType, SurveyResponse

router = APIRouter(tags=["rules"])
READERS = (Role.ADMIN, Role.DIRECTOR, Role.VIEWER, Role.OPS)
Reader = Annotated[Principal, allow(*READERS)]
Admin = Annotated[Principal, allow(Role.ADMIN)]
AdminOrDirector = Annotated[Principal, allow(Role.ADMIN, Role.DIRECTOR)]
AdminDirectorOrOps = Annotated[Principal, allow(Role.ADMIN, Role.DIRECTOR, Role.OPS)]


class RuleSetOut(BaseModel):
    tenant: str
    version: int  # 0: the defaults, never saved
    updated_by: str | None
    updated_at: datetime | None
    enps_individual_follow_up: bool
    holiday_country: str | None
    rules: list[Rule]


class RuleSetVersionOut(RuleSetOut):
    changes: dict[str, Any] | None = Field(
        description="against the version before it (version 1: against the defaults): rule "
        "ids added, removed and edited, whether the order changed, and each set-wide flag "
        "from and to; null for the oldest version shown when `limit` cut off the one before"
    )


class RuleSetHistoryOut(BaseModel):
    tenant: str
    in_force: int = Field(description="the version in force; 0: the defaults")
    versions: list[RuleSetVersionOut] = Field(description="newest first")


def _out(tenant: str, row: RuleSetRow | RuleSetHistory) -> dict[str, Any]:
    return {
        "tenant": tenant, "version": row.version, "updated_by": row.updated_by,
        "updated_at": row.updated_at, **RuleSet.model_validate(row.rule_set).model_dump(),
    }  # fmt: skip


@router.get("/v1/tenants/{tenant}/rules", response_model=RuleSetOut, summary="The rules in force")
async def get_rules(tenant: TenantPath, principal: Reader, session: SessionDep) -> RuleSetOut:
    row = await repository.current_rule_set(session, tenant)
    if row is None:
        return RuleSetOut(
            tenant=tenant, version=0, updated_by=None, updated_at=None,
            **DEFAULT_RULE_SET.model_dump(),
        )  # fmt: skip
    return RuleSetOut(**_out(tenant, row))


@router.put(
    "/v1/tenants/{tenant}/rules",
    response_model=RuleSetOut,
    summary="Replace the rules (admin); 422 names the rule and field that are wrong",
    description=(
        "Rules are evaluated in order; every enabled rule whose conditions hold produces one "
        "action for the answer, and a matching rule with `stop` ends the evaluation. New "
        "answers, and later versions of earlier answers, use the new rules; actions "
        "already decided stay. A refused rule's detail has `field` `rules.<i>` or "
        "`rules.<i>.<field>` and a `type` naming the check (e.g. `score_range`, "
        "`template_needed`, `due_needed`, `cooldown_tasks_only`, `repeated_ids`)."
    ),
)
async def put_rules(
    tenant: TenantPath, body: RuleSet, principal: Admin, session: SessionDep
) -> RuleSetOut:
    replaced, version = await repository.save_rule_set(session, tenant, body, principal.sub)
    await audit.record(
        session, OUTBOX, tenant=tenant, actor=principal, action="rules.changed", target="rules",
        detail={"version": {"from": version - 1, "to": version},
                **rule_set_changes(replaced, body)},
    )  # fmt: skip
    return await get_rules(tenant, principal, session)


@router.get(
    "/v1/tenants/{tenant}/rules/history",
    response_model=RuleSetHistoryOut,
    summary="Every saved version: who changed the rules, when, and what changed",
)
async def rules_history(
    tenant: TenantPath,
    principal: AdminDirectorOrOps,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> RuleSetHistoryOut:
    rows = await repository.rule_set_history(session, tenant, limit + 1)
    sets = [RuleSet.model_validate(r.rule_set) for r in rows]

    def before(i: int) -> RuleSet | None:
        # The next row (newest first); before version 1, the defaults.
        if i + 1 < len(rows):
            return sets[i + 1]
        return DEFAULT_RULE_SET if rows[i].version == 1 else None

    return RuleSetHistoryOut(
        tenant=tenant,
        in_force=rows[0].version if rows else 0,
        versions=[
            RuleSetVersionOut(
                **_out(tenant, rows[i]),
                changes=rule_set_changes(prev, sets[i]) if (prev := before(i)) else None,
            )
            for i in range(min(len(rows), limit))
        ],
    )


# ------------------------------------------------------------------------------- dry run


class DryRunIn(RuleSet):
    """A candidate rule set and the period of past answers to try it on."""

    start: AwareDatetime = Field(alias="from")
    end: AwareDatetime | None = Field(default=None, alias="to", description="default: now")
    examples: int = Field(default=3, ge=0, le=20, description="examples per rule")

    @model_validator(mode="after")
    def _period(self) -> DryRunIn:
        if self.end is not None and self.end <= self.start:
            raise ValueError("`to` must be after `from`")
        return self


class DryRunExample(BaseModel):
    response_event_id: uuid.UUID
    response_id: str
    score: int
    comment: str | None
    answered_at: datetime
    assignee: str | None
    assignee_role: str
    due_at: datetime | None


WITHHELD = "null: an eNPS count of fewer than the tenant's anonymity k employees"


class DryRunRule(BaseModel):
    rule_id: str
    type: ActionType
    actions: int | None = Field(description=WITHHELD)
    attached: int | None = Field(
        description="answers the cool-down would attach to an open action; " + WITHHELD
    )
    unowned: int | None = Field(
        description="actions for the fallback queue (no owner); " + WITHHELD
    )
    too_old: int | None = Field(
        description="answers the rule matches but would not act on: older than its "
        "max_age_hours when they reached Anbefal; " + WITHHELD
    )
    history: int | None = Field(
        description="answers the rule matches but would not act on: imported as history; "
        + WITHHELD
    )
    examples: list[DryRunExample] = Field(description="never of eNPS answers")


class DryRunOut(BaseModel):
    tenant: str
    start: datetime = Field(serialization_alias="from")
    end: datetime = Field(serialization_alias="to")
    answers: int = Field(description="NPS answers in the period")
    truncated: bool = Field(
        description="more answers than the dry run tries (ANBEFAL_DRY_RUN_MAX_ANSWERS, default "
        "100,000): the first ones only"
    )
    without_action: int = Field(description="NPS answers no rule would act on")
    enps_included: bool = Field(
        description="eNPS answers were tried: only when the rules in force set "
        "enps_individual_follow_up (the candidate's own flag does not count)"
    )
    rules: list[DryRunRule]
    in_force: dict[str, int | None] = Field(
        description="actions per rule under the rules in force; " + WITHHELD
    )


@router.post(
    "/v1/tenants/{tenant}/rules/dry-run",
    response_model=DryRunOut,
    response_model_by_alias=True,
    summary="What a candidate rule set would have done to a period's answers (no side effects)",
    description=(
        "Evaluates the candidate rules, owners and cool-downs included, on the latest version "
        "of every answer closed_loop saw with `answered_at` in [from, to). Nothing is stored "
        "or sent. `in_force` counts the same for the rules in force, for comparison. eNPS "
        "answers are tried only when the rules in force route them to people, no eNPS example "
        "is shown, and an eNPS count of fewer than the tenant's anonymity k is null. The run "
        "computes off the service's event loop and is answered 422 past "
        "ANBEFAL_DRY_RUN_TIMEOUT_S (default 30 s); 429 while two are computing."
    ),
)
async def dry_run(
    tenant: TenantPath,
    body: DryRunIn,
    principal: AdminOrDirector,
    session: SessionDep,
    state: ClosedLoopStateDep,
) -> DryRunOut:
    now = datetime.now(UTC)
    end = body.end or now
    most = state.settings.dry_run_max_answers
    answers = await repository.answers_between(session, tenant, body.start, end, most + 1)
    truncated = len(answers) > most
    answers = answers[:most]
    accounts = {a.respondent.account_id for a in answers if a.respondent.account_id}
    directory = (await repository.directories(session, {tenant: accounts}, {tenant}))[tenant]
    defaults = (await repository.routing_settings(session, {tenant}))[tenant]
    candidate = RuleSet.model_validate(body.model_dump(include=set(RuleSet.model_fields)))
    in_force = (await repository.rule_sets(session, {tenant}))[tenant]
    k = await repository.anonymity_k(session, tenant)
    seen = await report_off_loop(
        answers, defaults, candidate, in_force, directory, now, body.examples, k,
        timeout_s=state.settings.dry_run_timeout_s,
    )  # fmt: skip
    return DryRunOut(
        tenant=tenant, start=body.start, end=end, answers=seen.answers, truncated=truncated,
        without_action=seen.without_action, enps_included=seen.enps_included,
        in_force=seen.in_force,
        rules=[
            DryRunRule(
                rule_id=o.rule_id, type=o.type, actions=o.actions, attached=o.attached,
                unowned=o.unowned, too_old=o.too_old, history=o.history,
                examples=[
                    DryRunExample(
                        response_event_id=a.response_event_id,
                        response_id=_response_id(answers, a.response_event_id),
                        score=a.score, comment=a.comment, answered_at=a.answered_at,
                        assignee=a.assignee, assignee_role=a.assignee_role, due_at=a.due_at,
                    )
                    for a in o.examples
                ],
            )
            for o in seen.rules
        ],
    )  # fmt: skip


def _response_id(answers: list[SurveyResponse], event_id: uuid.UUID) -> str:
    return next(a.source.response_id for a in answers if a.event_id == event_id)
