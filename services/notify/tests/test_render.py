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
    ("template", "locale", "task_type", "subject", "phrase"),
    [
        ("assignment", "en", "call_task", "New call-back for you: Ida (score 3)",
         "Please call them by"),
        ("assignment", "da", "call_task", "Ring til Ida (score 3)", "Ring til vedkommende senest"),
        ("assignment", "en", "follow_up_task", "New follow-up for you: Ida (score 3)",
         "Please follow up with a call or an email by"),
        ("assignment", "da", "follow_up_task", "Opfølgning: Ida (score 3)",
         "Følg op med et opkald eller en mail senest"),
        ("sla_warning", "da", "follow_up_task", "Snart tid: opfølgning på Ida (score 3)",
         "Opfølgningen på Ida"),
        ("sla_warning", "en", "follow_up_task", "Follow-up due soon: Ida (score 3)",
         "The follow-up with Ida"),
        ("sla_warning", "da", "call_task", "Snart tid: ring til Ida (score 3)", "Opkaldet til Ida"),
        ("escalation", "da", "follow_up_task", "Fristen er overskredet: Ida (score 3)",
         "Opfølgningen på Ida"),
        ("escalation_next", "en", "call_task", "Still not called: Ida (score 3)",
         "escalated to boss@x"),
        ("escalation_next", "da", "call_task", "Stadig ikke klaret: Ida (score 3)",
         "sendt videre til boss@x"),
    ],
)  # fmt: skip
def test_staff_task_mails(
    template: str, locale: str, task_type: str, subject: str, phrase: str
) -> None:
    out = render(
        template, locale, tenant_name="Acme", respondent="Ida", score=3, comment="Slow",
        due="i morgen kl. 10:00", link="https://x.example/tasks/1", task_type=task_type,
        director="boss@x", assignee="sp@x", signature="Dorthe",
    )  # fmt: skip
    assert out.subject == subject
    assert phrase in out.body
    assert "https://x.example/tasks/1" in out.body
    assert '"Slow"' in out.body
    if task_type == "follow_up_task":
        # A salesperson's follow-up is no call-back: never called one in its mail.
        assert "Opkald" not in out.subject + out.body
        assert "call-back" not in (out.subject + out.body).lower()
