from __future__ import annotations

import base64

import jwt
import pytest
from pydantic import SecretStr

from anbefal.common.auth import InvalidToken, issue_token, verify_token
from anbefal.common.crypto import Keyring, key_spec
from anbefal.notify.settings import NotifySettings
from anbefal.notify.unsubscribe import tokens as unsubscribe

SECRET = "s" * 40
KEYS = unsubscribe.LinkKeys(Keyring.parse(key_spec("u1")))


def legacy_link(secret: str, tenant: str, email: str) -> str:
    """A link as mailed before unsubscribe links had keys of their own: a JWT signed with the
    deployment's JWT secret."""
    claims = {"aud": "anbefal:unsubscribe", "t": tenant, "e": email, "l": "da"}
    return jwt.encode(claims, secret, algorithm="HS256")


def test_a_token_names_its_subscriber_and_cannot_be_altered() -> None:
    token = unsubscribe.sign(KEYS, tenant="acme", email=" Ida@Example.COM ", locale="da")
    assert unsubscribe.read(KEYS, token) == unsubscribe.Subscriber("acme", "ida@example.com", "da")
    # Sealed: the address is not in the URL, as itself or base64-encoded (a 3-letter check
    # failed now and then: random ciphertext contains "ida" in about 1 token of 500).
    address = b"ida@example.com"
    encoded = [base64.urlsafe_b64encode(b"\0" * n + address).decode()[4:16] for n in range(3)]
    assert all(form not in token.lower() for form in ("ida@example.com", "example"))
    assert all(form not in token for form in encoded)
    other_deployment = unsubscribe.LinkKeys(Keyring.parse(key_spec("u1")))
    assert unsubscribe.read(other_deployment, token) is None
    kid, _, sealed = token.partition(".")
    flipped = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    assert unsubscribe.read(KEYS, f"{kid}.{flipped}") is None


def test_unsubscribe_and_bearer_tokens_are_not_interchangeable() -> None:
    token = unsubscribe.sign(KEYS, tenant="acme", email="ida@example.com", locale=None)
    with pytest.raises(InvalidToken):
        verify_token(SECRET, token)
    with pytest.raises(InvalidToken):
        verify_token(SECRET, legacy_link(SECRET, "acme", "ida@example.com"))
    bearer = issue_token(SECRET, tenant="acme", role="admin", sub="ida@example.com")
    assert unsubscribe.read(unsubscribe.LinkKeys(KEYS.keyring, [SECRET.encode()]), bearer) is None


LINK_KEYS = key_spec("u1")


def settings(**values: str) -> NotifySettings:
    return NotifySettings.model_validate({"unsubscribe_keys": SecretStr(LINK_KEYS), **values})


def test_rotating_the_jwt_keys_leaves_mailed_links_working() -> None:
    old_jwt = "o" * 40
    mailed = legacy_link(old_jwt, "acme", "ida@example.com")
    # The upgrade itself: the JWT secret is unchanged, and it still reads the old links.
    upgraded = settings(jwt_secret=old_jwt)
    assert unsubscribe.read(upgraded.unsubscribe_link_keys(), mailed) is not None
    new_link = unsubscribe.sign(
        upgraded.unsubscribe_link_keys(), tenant="acme", email="ole@example.com", locale="en"
    )
    # The JWT key rotated and the old one dropped; the old secret kept for the mailed links.
    rotated = settings(
        jwt_keys=key_spec("jwt2"), unsubscribe_legacy_secrets=f"{'x' * 40},{old_jwt}"
    )
    keys = rotated.unsubscribe_link_keys()
    assert unsubscribe.read(keys, mailed) == unsubscribe.Subscriber("acme", "ida@example.com", "da")
    assert unsubscribe.read(keys, new_link) == unsubscribe.Subscriber(
        "acme", "ole@example.com", "en"
    )
    # Without the legacy secret the old links would be gone: the setting is what keeps them.
    forgotten = settings(jwt_keys=key_spec("jwt2"))
    assert unsubscribe.read(forgotten.unsubscribe_link_keys(), mailed) is None
    assert unsubscribe.read(forgotten.unsubscribe_link_keys(), new_link) is not None


def test_the_links_keys_rotate_on_their_own() -> None:
    first = key_spec("u1")
    mailed = unsubscribe.sign(
        unsubscribe.LinkKeys(Keyring.parse(first)), tenant="acme", email="a@b.dk", locale=None
    )
    rotated = unsubscribe.LinkKeys(Keyring.parse(f"{key_spec('u2')},{first}"))
    assert unsubscribe.read(rotated, mailed) is not None
    assert unsubscribe.sign(rotated, tenant="acme", email="a@b.dk", locale=None).startswith("u2.")
