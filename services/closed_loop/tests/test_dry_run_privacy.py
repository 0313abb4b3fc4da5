"""The dry run reads no single employee's eNPS answer: eNPS answers are tried only when the
stored rules route them to people, never shown as examples, and counted only from k up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from anbefal.closed_loop import repository
from anbefal.closed_loop.dry_run import report
from anbefal.closed_loop.models import TENANTS
from anbefal.closed_loop.owners import EMPTY_DIRECTORY
from anbefal.closed_loop.rules import DEFAULT_RULE_SET, RoutingSettings, Rule, RuleSet
from anbefal.common.db import create_engine, create_sessionmaker
from anbefal.common.events import (
    Respondent,
    Source,
    SurveyResponse,
    TenantSettings,
    response_event_id,
)

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)
DEFAULTS = RoutingSettings(director="dir@acme.example")


def answer(rid: str, kind: str, score: int, team: str) -> SurveyResponse:
    at = NOW - timedelta(days=1)
    return SurveyResponse.model_validate(
        {
            "event_id": response_event_id("acme", "api", rid), "version": 1, "tenant": "acme",
            "kind": kind, "score": score, "comment": f"{rid} says", "answered_at": at,
            "received_at": at, "source": Source(tool="api", response_id=rid),
            "respondent": Respondent(key=rid), "segments": {"team": team},
        }
    )  # fmt: skip


def enps_rule(rule_id: str, low: int, high: int, **segments: str) -> Rule:
    return Rule(
        id=rule_id, kind="enps", min_score=low, max_score=high, segments=segments,
        action="call_task", assignee_role="director", due_hours=48,
    )  # fmt: skip


# One employee in team "solo" scored 2; six in team "big" scored 3; NPS customers too.
ANSWERS = [
    answer("e-solo", "enps", 2, "solo"),
    *[answer(f"e-big-{i}", "enps", 3, "big") for i in range(6)],
    answer("c-1", "nps", 2, "x"),
    answer("c-2", "nps", 10, "x"),
]
PROBE = RuleSet(
    enps_individual_follow_up=True,
    rules=[
        enps_rule("solo", 0, 2, team="solo"),
        enps_rule("big", 0, 6, team="big"),
        *DEFAULT_RULE_SET.rules,
    ],
)
STORED_OPTED_IN = PROBE.model_copy(update={"rules": list(DEFAULT_RULE_SET.rules)})


def run(in_force: RuleSet, k: int = 5) -> dict[str, tuple[int | None, int]]:
    seen = report(ANSWERS, DEFAULTS, PROBE, in_force, EMPTY_DIRECTORY, NOW, 20, k)
    return {o.rule_id: (o.actions, len(o.examples)) for o in seen.rules}


def test_the_candidates_own_flag_does_not_open_enps_answers() -> None:
    # The stored rules never opted in: the candidate's `true` is not believed.
    seen = report(ANSWERS, DEFAULTS, PROBE, DEFAULT_RULE_SET, EMPTY_DIRECTORY, NOW, 20, 5)
    assert not seen.enps_included
    by_rule = {o.rule_id: o for o in seen.rules}
    assert by_rule["big"].actions is None
    assert by_rule["big"].examples == []
    assert by_rule["solo"].actions is None
    # The NPS answers are tried as before.
    assert by_rule["detractor-call"].actions == 1
    assert len(by_rule["detractor-call"].examples) == 1
    assert seen.answers == 2
    assert seen.without_action == 0


def test_enps_examples_are_never_shown_and_small_counts_are_withheld() -> None:
    seen = run(STORED_OPTED_IN)
    assert seen["solo"] == (None, 0)  # one employee: withheld
    assert seen["big"] == (6, 0)  # six >= k: counted, but no example
    assert run(STORED_OPTED_IN, k=7)["big"] == (None, 0)  # the tenant's own k


def test_in_force_counts_follow_the_same_rule_and_enps_stays_out_of_the_totals() -> None:
    stored = PROBE.model_copy(update={"rules": [enps_rule("solo-now", 0, 2, team="solo")]})
    seen = report(ANSWERS, DEFAULTS, PROBE, stored, EMPTY_DIRECTORY, NOW, 20, 5)
    assert seen.enps_included
    assert seen.in_force == {"solo-now": None}
    # NPS answers only: with eNPS in them two runs would difference one employee.
    assert (seen.answers, seen.without_action) == (2, 0)


@pytest.mark.integration
async def test_the_dry_runs_k_is_the_tenants_from_its_settings(stack: Any) -> None:
    engine = create_engine(stack.new_database(), pool_size=1)
    db = create_sessionmaker(engine)
    settings = TenantSettings(tenant="acme", display_name="Acme", anonymity_k=7, updated_at=NOW)
    try:
        async with db() as session, session.begin():
            assert await repository.anonymity_k(session, "acme") == 5  # before any settings
            await TENANTS.save(session, [settings])
        async with db() as session:
            assert await repository.anonymity_k(session, "acme") == 7
            assert (await repository.routing_settings(session, {"acme"}))[
                "acme"
            ] == RoutingSettings()
    finally:
        await engine.dispose()
