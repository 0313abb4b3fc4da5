"""The admin pages' pure parts: both languages have every word, ingest's refusals of a source
form land next to the field they are about, and the settings form's typed values."""

from __future__ import annotations

import pytest

from anbefal.notify.ui import admin_settings
from anbefal.notify.ui.admin_sources import _mapping
from anbefal.notify.ui.admin_sources_words import WORDS, field_errors


@pytest.mark.parametrize("table", [WORDS, admin_settings.WORDS])
def test_danish_and_english_have_the_same_words(table: dict[str, dict[str, str]]) -> None:
    assert table["da"].keys() == table["en"].keys()
    assert all(table["da"].values())


@pytest.mark.parametrize(
    ("code", "message", "details", "field"),
    [
        ("secret_required", "secret is required for formbricks: paste ...", [], "secret"),
        ("invalid_request", "the request is not valid", [{"field": "path.name"}], "name"),
        (
            "invalid_request",
            "the request is not valid",
            [{"field": "(body)", "message": "Value error, fields.score must name the question"}],
            "score_field",
        ),
        (
            "invalid_request",
            "x",
            [{"field": "(body)", "message": "Value error, surveymonkey sends only ids: "
              "api_base_url and api_token are required"}],
            "api_token",
        ),
        (
            "invalid_request",
            "x",
            [{"field": "(body)", "message": "Value error, surveymonkey signs with "
              "client_id&client_secret: client_id is required"}],
            "client_id",
        ),
    ],
)  # fmt: skip
def test_ingest_refusals_are_put_next_to_their_field_in_danish(
    code: str, message: str, details: list[dict[str, str]], field: str
) -> None:
    errors = field_errors(WORDS["da"], 422, code, message, details)
    assert list(errors) == [field]
    assert errors[field] in WORDS["da"].values()


def test_a_refusal_without_words_is_shown_above_the_form_with_a_danish_lead() -> None:
    errors = field_errors(WORDS["da"], 409, "conflict", "something new", [])
    assert errors == {"form": "Ingest afviste kilden: something new"}


def test_field_mapping_lines() -> None:
    assert _mapping("respondent.email=email\n\n segment.department = dept \nowner.director=b") == {
        "respondent": {"email": "email"},
        "segments": {"department": "dept"},
        "owners": {"director": "b"},
    }
    with pytest.raises(ValueError, match="department"):
        _mapping("department=dept")


def test_typed_settings() -> None:
    assert admin_settings._typed("digest_recipients", "a@x.dk, b@x.dk;c@x.dk") == [
        "a@x.dk", "b@x.dk", "c@x.dk",
    ]  # fmt: skip
    assert admin_settings._typed("follow_up_days", " 7 ") == 7
    assert admin_settings._typed("follow_up_days", "syv") == "syv"  # refused by the check
    assert admin_settings._typed("sender_email", "  ") is None  # empty clears
