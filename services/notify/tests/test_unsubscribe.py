from __future__ import annotations

import pytest

from anbefal.common.auth import InvalidToken, issue_token, verify_token
from anbefal.notify.unsubscribe import tokens as unsubscribe

SECRET = "s" * 40


def test_a_token_names_its_subscriber_and_cannot_be_altered() -> None:
    token = unsubscribe.sign(SECRET, tenant="acme", email=" Ida@Example.COM ", locale="da")
    assert unsubscribe.read(SECRET, token) == unsubscribe.Subscriber(
        "acme", "ida@example.com", "da"
    )
    assert unsubscribe.read("x" * 40, token) is None  # another deployment's key
    head, payload, signature = token.split(".")
    other = unsubscribe.sign(SECRET, tenant="other", email="ida@example.com", locale="da")
    # Another tenant's claims under this token's signature: refused.
    assert unsubscribe.read(SECRET, f"{head}.{other.split('.')[1]}.{signature}") is None


def test_unsubscribe_and_bearer_tokens_are_not_interchangeable() -> None:
    token = unsubscribe.sign(SECRET, tenant="acme", email="ida@example.com", locale=None)
    with pytest.raises(InvalidToken):
        verify_token(SECRET, token)
    bearer = issue_token(SECRET, tenant="acme", role="admin", sub="ida@example.com")
    assert unsubscribe.read(SECRET, bearer) is None
