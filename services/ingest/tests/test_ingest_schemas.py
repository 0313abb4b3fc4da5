from __future__ import annotations

from typing import Any

import pydantic
import pytest

from anbefal.common.app import validation_details
from anbefal.ingest.answers.service import validate_items
from anbefal.ingest.schemas import parse_items

GOOD: dict[str, Any] = {
    "response_id": "r-1001",
    "kind": "nps",
    "score": 4,
    "comment": "Slow support",
    "answered_at": "2026-11-20T09:15:00+01:00",
    "respondent": {
        "id": "c-42",
        "name": "Ida Holm",
        "email": "ida@example.com",
        "locale": "da",
        "account_id": "acme",
    },
    "segments": {"department": "Support", "country": "DK", "store": "Aarhus C"},
    "owners": {"salesperson": "sp@company.example", "director": "director@company.example"},
}


def test_the_design_example_is_valid() -> None:
    (item,) = parse_items(GOOD)
    assert item.score == 4
    assert item.respondent.email == "ida@example.com"


def test_batch_form() -> None:
    items = parse_items({"responses": [GOOD, {**GOOD, "response_id": "r-1002"}]})
    assert [i.response_id for i in items] == ["r-1001", "r-1002"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"score": 11}, "score"),
        ({"score": "7"}, "score"),
        ({"score": 7.5}, "score"),
        ({"answered_at": "2026-11-20T09:15:00"}, "answered_at"),
        ({"kind": "csat"}, "kind"),
        ({"respondent": {"email": "not-an-address"}}, "respondent.email"),
        ({"unexpected": 1}, "unexpected"),
        ({"segments": {"Bad Name": "x"}}, "segments.Bad Name.[key]"),
    ],
)
def test_invalid_fields_are_named(change: dict[str, Any], field: str) -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        parse_items({**GOOD, **change})
    fields = [d["field"] for d in validation_details(caught.value.errors())]
    assert field in fields, fields


def test_missing_score_is_named() -> None:
    body = {k: v for k, v in GOOD.items() if k != "score"}
    with pytest.raises(pydantic.ValidationError) as caught:
        parse_items(body)
    assert [d["field"] for d in validation_details(caught.value.errors())] == ["score"]


def test_batch_over_500_is_refused() -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        parse_items({"responses": [GOOD] * 501})
    assert validation_details(caught.value.errors())[0]["field"] == "responses"


def test_a_segment_named_all_is_reserved_for_the_total() -> None:
    with pytest.raises(pydantic.ValidationError) as exc:
        parse_items({**GOOD, "segments": {"all": "Support"}})
    (detail,) = validation_details(exc.value.errors())
    assert detail["field"] == "segments"
    assert "'all' is reserved" in detail["message"]
    # A value "all" under another name is an ordinary segment.
    (item,) = parse_items({**GOOD, "segments": {"team": "all"}})
    assert item.segments == {"team": "all"}


def test_history_is_marked_per_answer_or_for_a_whole_batch() -> None:
    (single,) = parse_items({**GOOD, "history": True})
    assert single.history
    assert not parse_items(GOOD)[0].history
    batch = {"responses": [GOOD, {**GOOD, "response_id": "r-2"}], "history": True}
    assert all(i.history for i in parse_items(batch))
    items, errors = validate_items(batch)
    assert [i.history for i in items if i is not None] == [True, True]
    assert errors == [[], []]


@pytest.mark.parametrize("flag", ["true", 1, None])
def test_a_history_flag_that_is_not_a_boolean_is_refused(flag: Any) -> None:
    with pytest.raises(pydantic.ValidationError, match="history"):
        validate_items({"responses": [GOOD], "history": flag})
    with pytest.raises(pydantic.ValidationError, match="history"):
        parse_items({**GOOD, "history": flag})
