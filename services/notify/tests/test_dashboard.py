"""The dashboard's pure parts: the token it reads the APIs with, the change in words, each
hidden segment's reason in both languages, and the form's choices."""

from __future__ import annotations

import pytest

from anbefal.common.auth import Principal, Role, verify_token
from anbefal.devstack.testing import TEST_JWT_SECRET, TEST_UNSUBSCRIBE_KEYS
from anbefal.notify.dashboard.client import Apis, token_for
from anbefal.notify.dashboard.insights import CommentFilter
from anbefal.notify.dashboard.service import Query, change_words, hidden_words
from anbefal.notify.dashboard.words import WORDS, day, number
from anbefal.notify.settings import NotifySettings

REASONS = ("too_few", "protects_other_segment", "awaiting_changes")


def test_the_web_app_reads_the_apis_as_the_person_with_their_scope() -> None:
    settings = NotifySettings(
        jwt_secret=TEST_JWT_SECRET, unsubscribe_keys=TEST_UNSUBSCRIBE_KEYS,  # type: ignore[arg-type]
    )  # fmt: skip
    lead = Principal("acme", Role.VIEWER, "lea@acme.example", (("team", "Alpha"),))
    read = verify_token(settings.signing_keys(), token_for(settings, lead))
    assert read == lead


async def test_pages_call_the_apis_without_loading_certificates_each_time(
    trust_store_loads: list[object],
) -> None:
    settings = NotifySettings(
        jwt_secret=TEST_JWT_SECRET, unsubscribe_keys=TEST_UNSUBSCRIBE_KEYS,
    )  # fmt: skip
    lead = Principal("acme", Role.VIEWER, "lea@acme.example")
    for _ in range(3):
        async with Apis(settings, lead):
            pass
    # A TLS context loads the CA bundle (tens of ms of CPU): once per process, not per page.
    assert len(trust_store_loads) <= 1


@pytest.mark.parametrize("locale", ["en", "da"])
def test_every_reason_a_segment_is_hidden_is_said_in_words(locale: str) -> None:
    words = WORDS[locale]
    said = {hidden_words(words, reason) for reason in REASONS}
    assert len(said) == 3
    assert words["unknown_reason"] not in said
    assert hidden_words(words, "something_new") == words["unknown_reason"]


def test_the_change_says_how_much_from_when_and_whether_it_is_more_than_chance() -> None:
    segment = {
        "nps": 31.5, "previous_nps": 20.0, "change": 11.5, "significant_change": True,
        "previous_first_day": "2026-10-01", "previous_last_day": "2026-10-31", "previous_n": 340,
    }  # fmt: skip
    assert change_words(WORDS["en"], segment, "en") == (
        "Up 11.5 points from 20.0 (1 Oct 2026 to 31 Oct 2026, 340 answers). A significant change."
    )
    down = {**segment, "nps": 15.0, "change": -5.0, "significant_change": False}
    assert change_words(WORDS["da"], down, "da") == (
        "Faldet 5,0 point fra 20,0 (1.10.2026 til 31.10.2026, 340 svar). "
        "Ikke en signifikant ændring; den kan skyldes tilfældigheder."
    )
    hidden_before = {"nps": 10.0, "previous_nps": None, "previous_suppressed_reason": "too_few"}
    assert change_words(WORDS["en"], hidden_before, "en").startswith(
        "The previous period is hidden: too few people"
    )


def test_figures_and_days_are_written_as_each_language_writes_them() -> None:
    assert number(-12.25, "da") == "\u221212,2"
    assert number(7.0, "en") == "7.0"
    assert day("2026-12-05", "da") == "5.12.2026"
    assert day("2026-12-05", "en") == "5 Dec 2026"


def test_the_forms_choices_fall_back_to_what_the_api_takes() -> None:
    assert Query.of("enps", "30d", "team", "n", "country:DK") == Query(
        kind="enps", window="month", dimension="team", sort="n", filter=""
    )
    assert Query.of("x", "year", " ", "bogus").params() == {
        "kind": "nps", "window": "year", "dimension": "department", "sort": "nps",
    }  # fmt: skip
    assert "filter=country%3ADK" in Query.of("nps", "30d", "team", "n", "country:DK").link()


def test_the_comment_filter_asks_for_commented_answers_of_one_category() -> None:
    assert CommentFilter.of("detractor", "  montør ").params() == {
        "kind": "nps", "window": "90d", "has_comment": "true", "limit": "10",
        "category": "detractor", "q": "montør",
    }  # fmt: skip
    assert "category" not in CommentFilter.of("everyone", "").params()
