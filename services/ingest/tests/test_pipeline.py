"""`to_event`: a generic or tool answer as the `anbefal.responses.v1` contract."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anbefal.common.events import (
    GENERIC_API,
    TENANT_PATTERN,
    Owners,
    Respondent,
    Source,
    SurveyResponse,
    response_event_id,
)
from anbefal.ingest.intake.pipeline import to_event
from anbefal.ingest.schemas import ResponseIn

RECEIVED = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def answer(**overrides: object) -> ResponseIn:
    doc = {
        "response_id": "r-7",
        "version": 3,
        "score": 4,
        "comment": "",
        "answered_at": "2026-11-30T10:00:00+01:00",
        "survey_id": "s-1",
        "respondent": {
            "id": "c-9",
            "name": "Ida Holm",
            "email": "ida@example.com",
            "phone": "+45 12 34 56 78",
            "locale": "da-DK",
            "account_id": "a-1",
        },
        "segments": {"department": "sales"},
        "owners": {"salesperson": "sp@example.com", "director": "dir@example.com"},
        **overrides,
    }
    return ResponseIn.model_validate(doc)


def test_a_customer_answer_keeps_every_field_it_may() -> None:
    item = answer(comment="Slow delivery")
    event = to_event("acme", item, RECEIVED, "typeform")
    assert event == SurveyResponse(
        event_id=response_event_id("acme", "typeform", "s-1/r-7"),
        version=3,
        tenant="acme",
        kind="nps",
        score=4,
        comment="Slow delivery",
        answered_at=item.answered_at,
        received_at=RECEIVED,
        source=Source(tool="typeform", survey_id="s-1", response_id="r-7"),
        respondent=Respondent(
            key="c-9",
            name="Ida Holm",
            email="ida@example.com",
            phone="+45 12 34 56 78",
            locale="da-DK",
            account_id="a-1",
        ),
        segments={"department": "sales"},
        owners=Owners(salesperson="sp@example.com", director="dir@example.com"),
    )
    assert event.key == b"acme:c-9"


def test_an_employee_answer_carries_no_contact_details() -> None:
    event = to_event("acme", answer(kind="enps"), RECEIVED)
    assert event.respondent == Respondent(key="c-9", locale="da-DK")
    # The generic API's ids are the caller's own, without the survey.
    assert event.event_id == response_event_id("acme", "api", "r-7")


def test_empty_comment_and_missing_respondent_id() -> None:
    event = to_event("acme", answer(respondent={}), RECEIVED)
    assert event.comment is None
    assert event.respondent.key == "response:r-7"


# Text as survey tools send it: unicode (Danish, emoji, RTL), quotes, escapes, padding.
TEXT = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=30).filter(
    lambda s: s.strip() != ""
)
EMAIL = st.sampled_from(
    ["ida@example.com", "Ida.Holm@Example.DK", "INFO@firma.dk", "søren@købmand.dk", "a+b@x.io"]
)
OFFSETS = st.sampled_from(["Z", "+00:00", "+01:00", "-05:30", "+14:00"])


@st.composite
def answers(draw: st.DrawFn) -> dict[str, object]:
    moment = draw(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1)))
    doc: dict[str, object] = {
        "response_id": draw(TEXT),
        "score": draw(st.integers(0, 10)),
        "answered_at": moment.isoformat() + draw(OFFSETS),
    }
    optional: dict[str, st.SearchStrategy[object]] = {
        "version": st.integers(1, 2**31),
        "kind": st.sampled_from(["nps", "enps"]),
        "comment": st.one_of(st.just(""), st.text(max_size=200)),
        "survey_id": TEXT,
        "respondent": st.fixed_dictionaries(
            {},
            optional={
                "id": TEXT,
                "name": TEXT,
                "email": EMAIL,
                "phone": st.sampled_from(["+45 12 34 56 78", "(555) 123-4567"]),
                "locale": st.sampled_from(["da", "da-DK", "en-GB"]),
                "account_id": TEXT,
            },
        ),
        "segments": st.dictionaries(
            st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True).filter(lambda s: s != "all"),
            TEXT,
            max_size=4,
        ),
        "owners": st.fixed_dictionaries({}, optional={"salesperson": EMAIL, "director": EMAIL}),
        "history": st.booleans(),
    }
    for name, strategy in optional.items():
        if draw(st.booleans()):
            doc[name] = draw(strategy)
    return doc


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(
    doc=answers(),
    tenant=st.from_regex(TENANT_PATTERN, fullmatch=True),
    tool=st.sampled_from([GENERIC_API, "typeform", "qualtrics"]),
    received_at=st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=2))])),
)
def test_the_event_carries_the_answer_as_the_contract_says(
    doc: dict[str, object], tenant: str, tool: str, received_at: datetime
) -> None:
    item = ResponseIn.model_validate(doc)
    event = to_event(tenant, item, received_at, tool)
    source_key = item.response_id if tool == GENERIC_API else f"{item.survey_id}/{item.response_id}"
    assert event.event_id == response_event_id(tenant, tool, source_key)
    assert (event.tenant, event.version, event.kind, event.score, event.history) == (
        tenant, item.version, item.kind, item.score, item.history,
    )  # fmt: skip
    assert event.comment == (item.comment or None)
    assert (event.answered_at, event.received_at) == (item.answered_at, received_at)
    assert event.source == Source(tool=tool, survey_id=item.survey_id, response_id=item.response_id)
    assert event.segments == item.segments
    assert event.owners == Owners(
        salesperson=item.owners.salesperson, director=item.owners.director
    )
    given_contact = item.respondent
    assert event.respondent.key == (given_contact.id or f"response:{item.response_id}")
    assert event.respondent.locale == given_contact.locale
    contact = (event.respondent.name, event.respondent.email, event.respondent.phone)
    if item.kind == "enps":
        # An employee's name and contact details never reach the event.
        assert contact == (None, None, None)
        assert event.respondent.account_id is None
    else:
        assert contact == (given_contact.name, given_contact.email, given_contact.phone)
        assert event.respondent.account_id == given_contact.account_id
    # What consumers read back is the same event.
    assert SurveyResponse.model_validate_json(event.to_bytes()) == event


def test_a_tenant_outside_the_contract_is_refused() -> None:
    with pytest.raises(ValueError, match="tenant"):
        to_event("Not A Tenant", answer(), RECEIVED)


def test_a_received_time_without_a_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="received_at"):
        to_event("acme", answer(), datetime(2026, 12, 1, 9, 30))
