"""The rules and accounts admin pages' own logic: what the rules form proposes, and how
closed_loop's refusals become words at a field or a row, in Danish and English."""

from __future__ import annotations

from starlette.datastructures import FormData

from anbefal.notify.dashboard.client import Refused
from anbefal.notify.ui.admin_accounts import row_problem
from anbefal.notify.ui.admin_rules import field_errors, proposed
from anbefal.notify.ui.admin_rules_words import admin_words

IN_FORCE = {
    "version": 3,
    "enps_individual_follow_up": False,
    "holiday_country": "SE",
    "rules": [
        {"id": "detractor-call", "enabled": True, "min_score": 0, "max_score": 6,
         "action": "call_task", "assignee_role": "director", "due_hours": 48,
         "due_follow_up_days": False, "template": None, "max_age_hours": 72,
         "segments": {"tier": "gold"}, "cooldown_days": 7, "priority": 2},
        {"id": "promoter-thank-you", "enabled": True, "min_score": 9, "max_score": 10,
         "action": "email", "assignee_role": "director", "due_hours": None,
         "due_follow_up_days": False, "template": "thank_you", "max_age_hours": 168},
    ],
}  # fmt: skip


def form(**fields: str) -> FormData:
    return FormData([(k.replace("__", "-"), v) for k, v in fields.items()])


def test_the_form_edits_its_fields_and_keeps_the_rest_of_each_rule() -> None:
    got = proposed(
        form(
            rules__0__id="detractor-call",
            rules__0__enabled="on",
            rules__0__min_score="0",
            rules__0__max_score="5",
            rules__0__action="follow_up_task",
            rules__0__assignee_role="salesperson",
            rules__0__due_hours="",
            rules__0__max_age_hours="24",
            rules__0__template="thank_you",
            rules__1__id="promoter-thank-you",
            rules__1__min_score="9",
            rules__1__max_score="10",
            rules__1__action="email",
            rules__1__assignee_role="director",
            rules__1__template="ask_why",
            rules__1__due_hours="",
            rules__1__max_age_hours="168",
        ),  # fmt: skip
        IN_FORCE,
    )
    call, thanks = got["rules"]
    assert (got["holiday_country"], got["enps_individual_follow_up"]) == ("SE", False)
    # Fields the form does not show stay as saved; an empty due time on a task is the
    # follow-up days; a template only on a mail.
    assert call["segments"] == {"tier": "gold"}
    assert call["cooldown_days"] == 7
    assert (call["max_score"], call["action"], call["assignee_role"]) == (
        "5", "follow_up_task", "salesperson",
    )  # fmt: skip
    assert (call["due_hours"], call["due_follow_up_days"], call["template"]) == (None, True, None)
    # An unticked box is off.
    assert thanks["enabled"] is False
    assert (thanks["template"], thanks["due_follow_up_days"]) == ("ask_why", False)


def test_refusals_are_words_at_the_field_that_mends_them() -> None:
    refusal = Refused(422, "invalid", "invalid_request", [
        {"field": "rules.0", "type": "score_range", "message": "min_score 7 is above ..."},
        {"field": "rules.1.max_age_hours", "type": "less_than_equal", "message": "..."},
        {"field": "rules.1.min_score", "type": "int_parsing", "message": "..."},
        {"field": "rules.0.cooldown_days", "type": "cooldown_tasks_only", "message": "..."},
    ])  # fmt: skip
    assert field_errors(refusal, admin_words("da")) == {
        "rules-0-min_score": "Den laveste score er højere end den højeste.",
        "rules-1-max_age_hours": "Hele timer, fra 1 til 8760.",
        "rules-1-min_score": "Skriv et helt tal.",
        "rules-0-cooldown_days": admin_words("da")["why_cooldown_tasks_only"],
    }
    rule_wide = Refused(422, "x", "", [{"field": "rules.0", "type": "cooldown_tasks_only"}])
    assert list(field_errors(rule_wide, admin_words("en"))) == ["rules-0-action"]


def test_a_bad_row_in_words() -> None:
    en, da = admin_words("en"), admin_words("da")
    email = {"row": 3, "field": "salesperson", "type": "string_pattern_mismatch"}
    country = {"row": 4, "field": "holiday_country", "type": "string_pattern_mismatch"}
    zone = {"row": 5, "field": "time_zone", "type": "value_error"}
    empty = {"row": None, "field": "", "type": "empty_file"}
    assert row_problem(email, da) == {
        "row": 3,
        "field": "salesperson",
        "why": "Ikke en mailadresse.",
    }
    assert row_problem(country, en)["why"] == "Two capital letters, e.g. DK."
    assert row_problem(zone, da)["why"] == "Ukendt tidszone (fx Europe/Copenhagen)."
    assert row_problem(empty, en) == {
        "row": "–",
        "field": "(the file)",
        "why": "The file has no rows under its header.",
    }


def test_a_refusal_of_the_whole_dry_run_is_in_the_page_s_language() -> None:
    from anbefal.notify.ui.admin_rules import refusal_words

    da = admin_words("da")
    busy = Refused(429, "two dry runs are computing already; try again in a minute", "rate_limited")
    slow = Refused(422, "the dry run took longer than its limit of 30 s", "dry_run_too_long")
    other = Refused(404, "no such thing", "not_found")
    assert refusal_words(busy, da) == "To andre prøvekørsler er i gang. Prøv igen om et minut."
    assert refusal_words(slow, da).startswith("Prøvekørslen tog for lang tid")
    assert refusal_words(other, da) == "no such thing"
