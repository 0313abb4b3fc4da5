"""Sealed values open only with their key and context; keys rotate without losing old values."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from anbefal.common.crypto import (
    BadKeySpec,
    Keyring,
    Undecryptable,
    key_spec,
    new_key,
    open_with_key,
    seal_with_key,
)
from anbefal.common.settings import BaseServiceSettings

SECRET = "s" * 40


def test_a_sealed_value_opens_with_its_key_and_context_only() -> None:
    ring = Keyring.parse(key_spec("a"))
    token = ring.seal_text("hook-secret", context="source:acme:typeform")

    assert "hook-secret" not in token
    assert ring.open_text(token, context="source:acme:typeform") == "hook-secret"
    with pytest.raises(Undecryptable):
        ring.open_text(token, context="source:other:typeform")
    with pytest.raises(Undecryptable):
        Keyring.parse(key_spec("a")).open_text(token, context="source:acme:typeform")


def test_two_seals_of_the_same_value_differ() -> None:
    ring = Keyring.parse(key_spec("a"))
    assert ring.seal(b"x", context=b"c") != ring.seal(b"x", context=b"c")


def test_rotation_seals_with_the_first_key_and_opens_with_all() -> None:
    old = key_spec("old")
    before = Keyring.parse(old)
    sealed_before = before.seal(b"v", context=b"c")

    rotated = Keyring.parse(f"{key_spec('new')},{old}")
    sealed_after = rotated.seal(b"v", context=b"c")

    assert rotated.key_id(sealed_after) == "new"
    assert rotated.open(sealed_before, context=b"c") == b"v"
    with pytest.raises(Undecryptable, match="not configured"):
        before.open(sealed_after, context=b"c")


def test_tampered_or_foreign_values_are_refused() -> None:
    ring = Keyring.parse(key_spec("a"))
    token = ring.seal(b"value", context=b"c")
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    for bad in (flipped, "no-key-id", "a.", "a.!!!"):
        with pytest.raises(Undecryptable):
            ring.open(bad, context=b"c")


def test_a_shredded_record_key_leaves_nothing_to_open() -> None:
    key = new_key()
    blob = seal_with_key(key, b"ann@example.com", b"respondent:acme:r1")
    assert open_with_key(key, blob, b"respondent:acme:r1") == b"ann@example.com"
    with pytest.raises(Undecryptable):
        open_with_key(new_key(), blob, b"respondent:acme:r1")


@pytest.mark.parametrize(
    ("spec", "why"),
    [
        ("", "no keys"),
        ("nokey", "kid:key"),
        ("a:c2hvcnQ", "32 bytes"),
        (f"{key_spec('a')},{key_spec('a')}", "twice"),
        ("a-b:" + key_spec("x").partition(":")[2], "alphanumeric"),
    ],
)
def test_a_malformed_key_spec_says_what_is_wrong(spec: str, why: str) -> None:
    with pytest.raises(BadKeySpec, match=why):
        Keyring.parse(spec)


def test_settings_refuse_a_malformed_spec_at_start_and_explain_a_missing_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Settings read the environment too: a key there (a developer's `.local/anbefal.env`,
    # loaded by an in-process CLI test) must not stand in for the missing one.
    monkeypatch.delenv("ANBEFAL_DATA_KEYS", raising=False)
    with pytest.raises(ValueError, match="32 bytes"):
        BaseServiceSettings(jwt_secret=SecretStr(SECRET), data_keys=SecretStr("a:c2hvcnQ"))
    with pytest.raises(RuntimeError, match="ANBEFAL_DATA_KEYS is not set"):
        BaseServiceSettings(jwt_secret=SecretStr(SECRET)).keyring()
    spec = key_spec("k1")
    ring = BaseServiceSettings(jwt_secret=SecretStr(SECRET), data_keys=SecretStr(spec)).keyring()
    assert ring.current == "k1"
