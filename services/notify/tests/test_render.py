from __future__ import annotations

import pytest

from anbefal.notify.email.render import render


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
        signature="Dorthe",
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
    out = render("ask_why", locale, tenant_name="Acme", name="Ida", score=6, signature="Dorthe")
    assert out.subject.startswith(start)
    assert "6" in out.subject
    assert "Dorthe" in out.body
