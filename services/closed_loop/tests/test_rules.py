from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anbefal.closed_loop.dry_run import DryRun, simulate
from anbefal.closed_loop.owners import Directory, Person
from anbefal.closed_loop.rules import (
    DEFAULT_RULE_SET,
    RoutingSettings,
    RuleSet,
    TenantRules,
    cooldown_window,
    decide,
)
from anbefal.common.events import Owners, Respondent, Source, SurveyResponse, action_id

CPH = ZoneInfo("Europe/Copenhagen")
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def answer(
    score: int,
    *,
    kind: str = "nps",
    answered_at: datetime | None = None,
    owners: Owners | None = None,
    respondent: str = "c-42",
) -> SurveyResponse:
    answered_at = answered_at or datetime(2026, 11, 20, 9, 15, tzinfo=CPH)
    return SurveyResponse(
        event_id=uuid.uuid4(),
        version=1,
        tenant="acme",
        kind=kind,  # type: ignore[arg-type]
        score=score,
        answered_at=answered_at,
        received_at=answered_at + timedelta(minutes=1),  # a survey tool posts at once
        source=Source(tool="api", response_id="r-1"),
        respondent=Respondent(key=respondent, email="ida@example.com"),
        owners=owners or Owners(),
    )


DEFAULTS = RoutingSettings(
    director="dir@acme.example", salesperson="sales@acme.example", follow_up_days=5
)


@pytest.mark.parametrize("score", range(0, 7))
def test_detractor_gets_a_director_call_due_in_48_hours(score: int) -> None:
    response = answer(score)
    (action,) = decide(response, DEFAULTS, NOW)
    assert action.type == "call_task"
    assert action.assignee == "dir@acme.example"
    assert (action.assignee_source, action.due_clock) == ("default", "wall")
    assert action.due_at == response.answered_at + timedelta(hours=48)
    assert action.action_id == action_id(response.event_id, "detractor-call")


@pytest.mark.parametrize("score", [7, 8])
def test_passive_gets_a_salesperson_follow_up(score: int) -> None:
    response = answer(score, owners=Owners(salesperson="own@acme.example"))
    (action,) = decide(response, DEFAULTS, NOW)
    assert action.type == "follow_up_task"
    assert action.assignee == "own@acme.example"  # the answer's hint beats the tenant default
    assert action.assignee_source == "hint"
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


def test_no_owner_anywhere_sends_the_task_to_the_fallback_queue() -> None:
    (action,) = decide(answer(3), RoutingSettings(), NOW)
    assert (action.assignee, action.assignee_role) == (None, "team")
    # An email still goes to the respondent; it just has nobody to reply to.
    (email,) = decide(answer(10), RoutingSettings(), NOW)
    assert (email.assignee, email.assignee_role) == (None, "director")


def business_rules() -> RuleSet:
    doc = DEFAULT_RULE_SET.model_dump()
    doc["rules"][0] = {**doc["rules"][0], "due_clock": "business_hours", "due_hours": 16}
    return RuleSet.model_validate(doc)


def test_business_hours_due_time_uses_the_assignees_hours_and_danish_holidays() -> None:
    # Answered Wednesday 23 December 2026 at 15:00; the director works 09-17 Monday-Friday.
    answered = datetime(2026, 12, 23, 15, 0, tzinfo=CPH)
    directory = Directory(
        people={"dir@acme.example": Person(email="dir@acme.example", work_start="09:00",
                                            work_end="17:00")}
    )  # fmt: skip
    (action,) = decide(answer(2, answered_at=answered), DEFAULTS, NOW,
                       business_rules().rules, directory, "DK")  # fmt: skip
    # 2 h on the 23rd, 8 h on the 24th (a working day in Denmark), 25th holiday, weekend,
    # then 6 h on Monday the 28th: 15:00.
    assert action.due_at is not None
    assert action.due_at.astimezone(CPH) == datetime(2026, 12, 28, 15, 0, tzinfo=CPH)


def test_the_wall_clock_stays_the_default() -> None:
    (action,) = decide(answer(2), DEFAULTS, NOW, DEFAULT_RULE_SET.rules, Directory(), "DK")
    assert action.due_at == answer(2).answered_at + timedelta(hours=48)


def test_the_dry_run_applies_the_cool_down() -> None:
    start = datetime(2026, 11, 1, 9, tzinfo=UTC)
    answers = [
        answer(2, answered_at=start, respondent="a"),
        answer(3, answered_at=start + timedelta(days=3), respondent="a"),  # attached
        answer(4, answered_at=start + timedelta(days=3), respondent="b"),
        answer(1, answered_at=start + timedelta(days=8), respondent="a"),  # a new call
        answer(9, answered_at=start + timedelta(days=9), respondent="a"),
    ]
    outcomes, untouched = simulate(answers, DEFAULTS, DEFAULT_RULE_SET, Directory(), NOW, 1)
    by_rule = {o.rule_id: o for o in outcomes}
    call = by_rule["detractor-call"]
    assert (call.actions, call.attached, call.unowned) == (3, 1, 0)
    assert [e.response_event_id for e in call.examples] == [answers[0].event_id]
    assert by_rule["promoter-thank-you"].actions == 1
    assert by_rule["ask-why"].actions == 0
    assert untouched == 0


def test_enps_answers_get_no_individual_follow_up_by_default() -> None:
    assert decide(answer(2, kind="enps"), DEFAULTS, NOW) == []


@given(st.integers(0, 10), st.sampled_from(["nps", "enps"]))
def test_every_nps_answer_gets_exactly_one_action_and_ids_are_stable(score: int, kind: str) -> None:
    response = answer(score, kind=kind)
    first = decide(response, DEFAULTS, NOW)
    again = decide(response, DEFAULTS, NOW + timedelta(hours=1))
    assert len(first) == (1 if kind == "nps" else 0)
    assert [a.action_id for a in first] == [a.action_id for a in again]


@given(
    st.lists(
        st.tuples(st.integers(0, 10), st.integers(0, 40), st.sampled_from(["a", "b", "c"])),
        max_size=30,
    )
)
def test_cool_down_every_detractor_is_either_a_call_or_attached_to_one(
    spec: list[tuple[int, int, str]],
) -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    answers = sorted(
        (answer(s, answered_at=start + timedelta(days=d), respondent=who) for s, d, who in spec),
        key=lambda a: a.answered_at,
    )
    outcomes, _ = simulate(answers, DEFAULTS, DEFAULT_RULE_SET, Directory(), NOW, 100)
    call = next(o for o in outcomes if o.rule_id == "detractor-call")
    detractors = [a for a in answers if a.score <= 6]
    assert call.actions + call.attached == len(detractors)
    # Calls of one respondent are at least the cool-down apart; an attached answer lies
    # inside the window of one of that respondent's calls.
    calls = {a.response_event_id: a for a in call.examples}
    for who in ("a", "b", "c"):
        times = sorted(a.answered_at for a in calls.values() if a.respondent.key == who)
        assert all(b - a >= timedelta(days=7) for a, b in zip(times, times[1:], strict=False))
        for a in detractors:
            if a.respondent.key == who and a.event_id not in calls:
                assert any(
                    cooldown_window(t, 7)[0] < a.answered_at < cooldown_window(t, 7)[1]
                    for t in times
                )


def test_the_dry_run_attaches_to_an_open_task_of_another_rule_as_production_does() -> None:
    """The cool-down looks for the respondent's open action of the same type, whichever rule
    made it. The dry run used to look only at actions of rules with a cool-down, so it
    counted a second call where production attaches the answer to the first."""
    doc = DEFAULT_RULE_SET.model_dump()
    vip = {**doc["rules"][0], "id": "vip-call", "segments": {"tier": "gold"}, "stop": True,
           "cooldown_days": None, "due_hours": 4}  # fmt: skip
    rule_set = RuleSet.model_validate({**doc, "rules": [vip, *doc["rules"]]})
    start = datetime(2026, 11, 1, 9, tzinfo=UTC)
    gold = answer(2, answered_at=start).model_copy(update={"segments": {"tier": "gold"}})
    later = answer(3, answered_at=start + timedelta(days=2))
    outcomes, _ = simulate([gold, later], DEFAULTS, rule_set, Directory(), NOW, 1)
    by_rule = {o.rule_id: o for o in outcomes}
    assert (by_rule["vip-call"].actions, by_rule["vip-call"].attached) == (1, 0)
    assert (by_rule["detractor-call"].actions, by_rule["detractor-call"].attached) == (0, 1)


# ------------------------------------------------------------------- history and maximum age


def received(response: SurveyResponse, after: timedelta, **update: object) -> SurveyResponse:
    return response.model_copy(update={"received_at": response.answered_at + after, **update})


def test_each_rule_has_a_maximum_age_by_its_action_and_it_can_be_set() -> None:
    by_id = {r.id: r for r in DEFAULT_RULE_SET.rules}
    assert by_id["detractor-call"].max_age_hours == 72
    assert by_id["passive-follow-up"].max_age_hours == 168
    assert by_id["promoter-thank-you"].max_age_hours == 168
    stored = DEFAULT_RULE_SET.model_dump(mode="json")
    for rule in stored["rules"]:
        del rule["max_age_hours"]  # a rule set saved before the field existed
    assert RuleSet.model_validate(stored) == DEFAULT_RULE_SET
    stored["rules"][0]["max_age_hours"] = 24
    assert RuleSet.model_validate(stored).rules[0].max_age_hours == 24
    stored["rules"][0]["max_age_hours"] = 0
    with pytest.raises(ValueError, match="max_age_hours"):
        RuleSet.model_validate(stored)


def test_history_is_scored_elsewhere_but_never_routed_here() -> None:
    start = datetime(2026, 9, 1, 9, tzinfo=UTC)
    answers = [
        received(answer(s, answered_at=start + timedelta(days=d), respondent=f"h{d}"),
                 timedelta(days=60), history=True)
        for s, d in [(2, 0), (8, 1), (10, 2)]
    ]  # fmt: skip
    outcomes, untouched = simulate(answers, DEFAULTS, DEFAULT_RULE_SET, Directory(), NOW, 3)
    by_rule = {o.rule_id: o for o in outcomes}
    assert sum(o.actions for o in outcomes) == 0
    assert untouched == 3
    assert by_rule["detractor-call"].history == 1
    assert by_rule["passive-follow-up"].history == 1
    assert by_rule["promoter-thank-you"].history == 1
    assert by_rule["detractor-call"].too_old == 0


def test_an_answer_that_reached_us_late_gets_only_what_is_still_useful() -> None:
    late_call = received(answer(2, respondent="a"), timedelta(hours=73))
    in_time_call = received(answer(2, respondent="b"), timedelta(hours=71))
    late_thanks = received(answer(10, respondent="c"), timedelta(hours=100))
    too_late_thanks = received(answer(10, respondent="d"), timedelta(hours=169))
    answers = [late_call, in_time_call, late_thanks, too_late_thanks]
    outcomes, _ = simulate(answers, DEFAULTS, DEFAULT_RULE_SET, Directory(), NOW, 3)
    by_rule = {o.rule_id: o for o in outcomes}
    call, thanks = by_rule["detractor-call"], by_rule["promoter-thank-you"]
    assert (call.actions, call.too_old) == (1, 1)
    assert [e.response_event_id for e in call.examples] == [in_time_call.event_id]
    assert (thanks.actions, thanks.too_old) == (1, 1)
    assert [e.response_event_id for e in thanks.examples] == [late_thanks.event_id]


def test_a_consumer_backlog_does_not_age_an_answer_out() -> None:
    # closed_loop reads it a week after ingest received it: its age is taken at receipt.
    fresh = answer(2)
    (action,) = TenantRules(DEFAULTS, DEFAULT_RULE_SET).decide(fresh, NOW + timedelta(days=7))
    run = DryRun(TenantRules(DEFAULTS, DEFAULT_RULE_SET), fresh.received_at + timedelta(days=7))
    run.feed([fresh])
    assert [s.action_id for s in run.final()] == [action.action_id]


def test_a_correction_of_a_routed_answer_keeps_its_task_however_late() -> None:
    run = DryRun(TenantRules(DEFAULTS, DEFAULT_RULE_SET), NOW)
    first = answer(2, respondent="a")
    run.feed([first])
    corrected = received(first, timedelta(days=10), version=2, score=3, comment="still bad")
    run.feed([corrected])
    (state,) = run.final()
    assert not state.cancelled
    assert (state.payload.score, state.payload.comment) == (3, "still bad")
    assert run.not_routed == []
