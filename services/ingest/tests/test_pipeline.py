"""`to_event`: a generic or tool answer as the `anbefal.responses.v1` contract."""

from __future__ import annotations

from datetime import UTC, datetime

from anbefal.common.events import Owners, Respondent, Source, SurveyResponse, response_event_id
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
