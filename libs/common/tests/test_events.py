"""Contract tests: every event model survives the wire unchanged, and ids are stable."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st

from anbefal.common import topics
from anbefal.common.events import (
    ANBEFAL_NAMESPACE,
    TOPIC_MODELS,
    Action,
    Actor,
    AuditEntry,
    ErasureReported,
    ErasureRequested,
    EventModel,
    Respondent,
    ScoresChanged,
    Source,
    SurveyResponse,
    TaskEvent,
    TenantSettings,
    action_id,
    decode,
    erasure_report_id,
    response_event_id,
)

NOW = datetime(2026, 11, 20, 8, 15, tzinfo=UTC)
EVENT_ID = response_event_id("acme", "api", "r-1001")
ERASURE_ID = uuid.UUID("0b7f8a52-35a4-4c1e-9a61-2f3c7d4e5a60")

SAMPLES: list[EventModel] = [
    SurveyResponse(
        event_id=EVENT_ID,
        version=2,
        tenant="acme",
        kind="nps",
        score=4,
        comment="Slow support",
        answered_at=NOW,
        received_at=NOW,
        source=Source(tool="api", response_id="r-1001"),
        respondent=Respondent(key="c-42", name="Ida Holm", email="ida@example.com"),
        segments={"department": "Support", "country": "DK"},
    ),  # fmt: skip
    Action(
        action_id=action_id(EVENT_ID, "detractor-call"),
        tenant="acme",
        type="call_task",
        rule_id="detractor-call",
        response_event_id=EVENT_ID,
        response_version=2,
        kind="nps",
        score=4,
        answered_at=NOW,
        decided_at=NOW,
        assignee="d@acme.example",
        assignee_role="director",
        due_at=NOW,
        respondent=Respondent(key="c-42"),
        assignee_source="account",
        due_clock="business_hours",
    ),  # fmt: skip
    TaskEvent(
        event_id=uuid.uuid4(),
        tenant="acme",
        task_id=uuid.uuid4(),
        action_id=uuid.uuid4(),
        type="created",
        at=NOW,
    ),  # fmt: skip
    TenantSettings(tenant="acme", display_name="Acme A/S", updated_at=NOW),
    TenantSettings(
        tenant="acme",
        display_name="Acme A/S",
        updated_at=NOW,
        changed_by=Actor(sub="ops@acme.example", role="cli"),
    ),  # fmt: skip
    AuditEntry(
        event_id=uuid.uuid4(),
        tenant="acme",
        at=NOW,
        actor=Actor(sub="ada@acme.example", role="admin"),
        action="rules.changed",
        target="rules",
        detail={"version": {"from": 1, "to": 2}},
    ),  # fmt: skip
    ScoresChanged(
        event_id=uuid.uuid4(),
        tenant="acme",
        kind="nps",
        dimension="department",
        value="Support",
        window="30d",
        first_day=date(2026, 10, 22),
        last_day=date(2026, 11, 20),
        sequence=40,
        n=40,
        promoters=20,
        passives=10,
        detractors=10,
        nps=25.0,
        interval_low=2.1,
        interval_high=45.3,
        computed_at=NOW,
    ),
    ErasureRequested(erasure_id=ERASURE_ID, tenant="acme", requested_at=NOW, subject="k1.c2VhbGVk"),
    ErasureReported(
        event_id=erasure_report_id(ERASURE_ID, "scoring"),
        erasure_id=ERASURE_ID,
        tenant="acme",
        service="scoring",
        rows=3,
        finished_at=NOW,
    ),
]


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: type(e).__name__)
def test_round_trip(event: EventModel) -> None:
    assert decode(type(event), event.to_bytes()) == event


def test_every_topic_model_has_a_sample() -> None:
    assert {type(s) for s in SAMPLES} == set(TOPIC_MODELS.values())
    assert topics.RESPONSES in TOPIC_MODELS


def test_consumers_ignore_fields_added_later() -> None:
    raw = SAMPLES[0].to_bytes()[:-1] + b',"added_in_a_later_release":true}'
    assert decode(SurveyResponse, raw) == SAMPLES[0]


@pytest.mark.parametrize("raw", [b"", b"not json", b"{}", b'{"score": 11}'])
def test_garbage_does_not_decode(raw: bytes) -> None:
    with pytest.raises(pydantic.ValidationError):
        decode(SurveyResponse, raw)


def test_ids_are_stable_and_distinct() -> None:
    assert response_event_id("acme", "api", "r-1") == response_event_id("acme", "api", "r-1")
    assert response_event_id("acme", "api", "r-1") != response_event_id("other", "api", "r-1")
    assert action_id(EVENT_ID, "a") != action_id(EVENT_ID, "b")


@given(tenant=st.text(), tool=st.text(), response_id=st.text())
def test_event_id_is_the_standard_uuid5(tenant: str, tool: str, response_id: str) -> None:
    # Ids already in Kafka and in every consumer's tables were made with uuid.uuid5: the fast
    # path must never give a different one.
    name = f"{tenant}\x1f{tool}\x1f{response_id}"
    assert response_event_id(tenant, tool, response_id) == uuid.uuid5(ANBEFAL_NAMESPACE, name)


@given(event_id=st.uuids(), rule_id=st.text())
def test_action_id_is_the_standard_uuid5(event_id: uuid.UUID, rule_id: str) -> None:
    assert action_id(event_id, rule_id) == uuid.uuid5(event_id, rule_id)


def test_every_topic_has_a_dead_letter_topic() -> None:
    names = {t.name for t in topics.ALL_TOPICS}
    for spec in topics.ALL_TOPICS:
        if not spec.name.endswith(topics.DLQ_SUFFIX):
            assert topics.dlq(spec.name) in names
