from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pydantic
import pytest

from anbefal.closed_loop.rules import (
    DEFAULT_RULE_SET,
    RoutingSettings,
    Rule,
    RuleSet,
    decide,
    rule_set_changes,
)
from anbefal.common.events import Respondent, Source, SurveyResponse

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
DEFAULTS = RoutingSettings(director="d@acme.example", salesperson="s@acme.example")


def answer(score: int, comment: str | None = None, **segments: str) -> SurveyResponse:
    return SurveyResponse(
        event_id=uuid.uuid4(), version=1, tenant="acme", kind="nps", score=score, comment=comment,
        answered_at=NOW, received_at=NOW, source=Source(tool="api", response_id="r"),
        respondent=Respondent(key="c", email="c@example.com"), segments=segments,
    )  # fmt: skip


def rule(**overrides: Any) -> dict[str, Any]:
    return {
        "id": "r", "min_score": 0, "max_score": 6, "action": "call_task",
        "assignee_role": "director", "due_hours": 24, **overrides,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (rule(min_score=7, max_score=3), "min_score 7 is above max_score 3"),
        (rule(max_score=11), "less than or equal to 10"),
        (rule(action="email", template=None), "needs a template"),
        (rule(due_hours=None), "needs due_hours"),
        (rule(id="Not A Slug"), "should match pattern"),
        (rule(kind="enps"), "set enps_individual_follow_up"),
        (rule(colour="red"), "Extra inputs are not permitted"),
    ],
)
def test_invalid_rules_are_refused_with_the_reason(bad: dict[str, Any], message: str) -> None:
    with pytest.raises(pydantic.ValidationError, match=message) as caught:
        RuleSet.model_validate({"rules": [rule(id="ok"), bad]})
    # The error points at the rule by its index.
    assert any(err["loc"][:2] == ("rules", 1) or err["loc"] == () for err in caught.value.errors())


def test_duplicate_ids_are_refused() -> None:
    with pytest.raises(pydantic.ValidationError, match="repeated: r"):
        RuleSet.model_validate({"rules": [rule(), rule()]})


def test_enps_rules_need_the_opt_in() -> None:
    rules = RuleSet.model_validate(
        {"rules": [rule(kind="enps")], "enps_individual_follow_up": True}
    )
    assert rules.rules[0].kind == "enps"


def test_conditions_order_and_stop() -> None:
    rules = RuleSet.model_validate(
        {
            "rules": [
                rule(id="vip", segments={"tier": "gold"}, priority=9, stop=True),
                rule(id="call"),
                rule(id="why", min_score=0, max_score=10, has_comment=False, action="email",
                     template="ask_why", due_hours=None),
                rule(id="off", enabled=False),
            ]
        }
    ).rules  # fmt: skip
    assert [a.rule_id for a in decide(answer(3, tier="gold"), DEFAULTS, NOW, rules)] == ["vip"]
    assert [a.rule_id for a in decide(answer(3), DEFAULTS, NOW, rules)] == ["call", "why"]
    assert [a.rule_id for a in decide(answer(3, "slow"), DEFAULTS, NOW, rules)] == ["call"]
    assert [a.rule_id for a in decide(answer(9, "great"), DEFAULTS, NOW, rules)] == []


def test_the_default_set_has_ask_why_switched_off() -> None:
    ask_why = next(r for r in DEFAULT_RULE_SET.rules if r.id == "ask-why")
    assert not ask_why.enabled
    assert [a.rule_id for a in decide(answer(9), DEFAULTS, NOW, DEFAULT_RULE_SET.rules)] == [
        "promoter-thank-you"
    ]
    assert isinstance(ask_why, Rule)


def test_what_a_save_changed_for_the_audit_trail() -> None:
    rules = DEFAULT_RULE_SET.rules
    after = RuleSet(
        rules=[rules[1], rules[0].model_copy(update={"due_hours": 24}), rules[3]],
        holiday_country="SE",
    )
    assert rule_set_changes(DEFAULT_RULE_SET, after) == {
        "added": [], "removed": ["promoter-thank-you"], "edited": ["detractor-call"],
        "reordered": True, "holiday_country": {"from": None, "to": "SE"},
    }  # fmt: skip
    assert rule_set_changes(DEFAULT_RULE_SET, DEFAULT_RULE_SET) == {
        "added": [], "removed": [], "edited": [], "reordered": False,
    }  # fmt: skip
