from __future__ import annotations

import pytest

from anbefal.notify.email.render import Rendered, render


@pytest.mark.parametrize(
    ("locale", "subject_start", "greeting"),
    [
        ("en", "Thank you for recommending", "Dear Ida"),
        ("da", "Tak fordi", "Kære Ida"),
        ("fr", "Thank you", "Dear Ida"),
    ],
)
def test_thank_you_in_each_language(locale: str, subject_start: str, greeting: str) -> None:
    out = render(
        "thank_you", locale, tenant_name="Acme A/S", name="Ida", score=10, comment="Great",
        signature="Dorthe", unsubscribe_url=None,
    )  # fmt: skip
    assert out.subject.startswith(subject_start)
    assert "Acme A/S" in out.subject
    assert out.body.startswith(greeting)
    assert "10" in out.body
    assert "Great" in out.body
    assert "Dorthe" in out.body


@pytest.mark.parametrize(
    ("locale", "start"), [("en", "What made you give"), ("da", "Hvorfor gav du")]
)
def test_ask_why(locale: str, start: str) -> None:
    out = render(
        "ask_why", locale, tenant_name="Acme", name="Ida", score=6, signature="Dorthe",
        unsubscribe_url=None,
    )  # fmt: skip
    assert out.subject.startswith(start)
    assert "6" in out.subject
    assert "Dorthe" in out.body


@pytest.mark.parametrize(
    ("template", "locale", "start", "unsubscribe_line"),
    [
        ("thank_you", "en", "Thank you", "Unsubscribe here: https://x.example/unsubscribe/t"),
        ("thank_you", "da", "Tak fordi", "Afmeld her: https://x.example/unsubscribe/t"),
        ("ask_why", "en", "What made you", "Unsubscribe here: https://x.example/unsubscribe/t"),
        ("ask_why", "da", "Hvorfor gav du", "Afmeld her: https://x.example/unsubscribe/t"),
    ],
)
def test_respondent_mail_carries_the_unsubscribe_link(
    template: str, locale: str, start: str, unsubscribe_line: str
) -> None:
    def mail(url: str | None) -> Rendered:
        return render(
            template, locale, tenant_name="Acme", name="Ida", score=9, comment=None,
            signature="Dorthe", unsubscribe_url=url,
        )  # fmt: skip

    out = mail("https://x.example/unsubscribe/t")
    assert out.subject.startswith(start)
    assert out.body.rstrip().endswith(unsubscribe_line)
    without = mail(None)
    assert "unsubscribe" not in without.body.lower()
    assert "afmeld" not in without.body.lower()


@pytest.mark.parametrize(
    ("template", "locale", "subject", "phrase"),
    [
        ("assignment", "en", "New call-back for you: Ida (score 3)", "Please get in touch by"),
        ("assignment", "da", "Nyt opkald til dig: Ida (score 3)", "Tag kontakt senest"),
        ("escalation_next", "en", "Still not called: Ida (score 3)", "escalated to boss@x"),
        ("escalation_next", "da", "Stadig ikke ringet: Ida (score 3)", "eskaleret til boss@x"),
    ],
)
def test_staff_task_mails(template: str, locale: str, subject: str, phrase: str) -> None:
    out = render(
        template, locale, tenant_name="Acme", respondent="Ida", score=3, comment="Slow",
        due="2026-12-01 10:00 UTC", link="https://x.example/tasks/1", task_type="call_task",
        director="boss@x", signature="Dorthe",
    )  # fmt: skip
    assert out.subject == subject
    assert phrase in out.body
    assert "https://x.example/tasks/1" in out.body
    assert '"Slow"' in out.body
