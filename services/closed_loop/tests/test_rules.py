from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anbefal.closed_loop.rules import TenantDefaults, decide
from anbefal.common.events import Owners, Respondent, Source, SurveyResponse, action_id

CPH = ZoneInfo("Europe/Copenhagen")
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def answer(
    score: int,
    *,
    kind: str = "nps",
    answered_at: datetime | None = None,
    owners: Owners | None = None,
) -> SurveyResponse:
    return SurveyResponse(
        event_id=uuid.uuid4(),
        version=1,
        tenant="acme",
        kind=kind,  # type: ignore[arg-type]
        score=score,
        answered_at=answered_at or datetime(2026, 11, 20, 9, 15, tzinfo=CPH),
        received_at=NOW,
        source=Source(tool="api", response_id="r-1"),
        respondent=Respondent(key="c-42", email="ida@example.com"),
        owners=owners or Owners(),
    )


DEFAULTS = TenantDefaults(
    director="dir@acme.example", salesperson="sales@acme.example", follow_up_days=5
)


@pytest.mark.parametrize("score", range(0, 7))
def test_detractor_gets_a_director_call_due_in_48_hours(score: int) -> None:
    response = answer(score)
    (action,) = decide(response, DEFAULTS, NOW)
    assert action.type == "call_task"
    assert action.assignee == "dir@acme.example"
    assert action.due_at == response.answered_at + timedelta(hours=48)
    assert action.action_id == action_id(response.event_id, "detractor-call")


@pytest.mark.parametrize("score", [7, 8])
def test_passive_gets_a_salesperson_follow_up(score: int) -> None:
    response = answer(score, owners=Owners(salesperson="own@acme.example"))
    (action,) = decide(response, DEFAULTS, NOW)
    assert action.type == "follow_up_task"
    assert action.assignee == "own@acme.example"  # the answer's hint beats the tenant default
    assert action.due_at == response.answered_at + timedelta(days=5)


@pytest.mark.parametrize("score", [9, 10])
def test_promoter_gets_a_thank_you_email(score: int) -> None:
    (action,) = decide(answer(score), DEFAULTS, NOW)
    assert action.type == "email"
    assert action.template == "thank_you"
    assert action.assignee == "dir@acme.example"
    assert action.due_at is None


def test_48_hours_across_the_october_dst_change_are_48_real_hours() -> None:
    # Copenhagen leaves summer time on 2026-10-25 at 03:00 (+02:00 -> +01:00).
    answered = datetime(2026, 10, 24, 12, 0, tzinfo=CPH)
    (action,) = decide(answer(2, answered_at=answered), DEFAULTS, NOW)
    assert action.due_at is not None
    assert action.due_at - answered == timedelta(hours=48)
    assert (action.due_at.timestamp() - answered.timestamp()) == 48 * 3600
    assert action.due_at.astimezone(CPH).hour == 11  # wall clock moved back one hour


def test_no_owner_anywhere_leaves_the_assignee_empty_for_the_fallback_queue() -> None:
    (action,) = decide(answer(3), TenantDefaults(), NOW)
    assert action.assignee is None


def test_enps_answers_get_no_individual_follow_up_by_default() -> None:
    assert decide(answer(2, kind="enps"), DEFAULTS, NOW) == []


@given(st.integers(0, 10), st.sampled_from(["nps", "enps"]))
def test_every_nps_answer_gets_exactly_one_action_and_ids_are_stable(score: int, kind: str) -> None:
    response = answer(score, kind=kind)
    first = decide(response, DEFAULTS, NOW)
    again = decide(response, DEFAULTS, NOW + timedelta(hours=1))
    assert len(first) == (1 if kind == "nps" else 0)
    assert [a.action_id for a in first] == [a.action_id for a in again]
