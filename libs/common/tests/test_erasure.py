"""The erasure kernel's pure parts: sealed subjects, keyed hashes, scrubbed documents."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from anbefal.common.crypto import Keyring, Undecryptable, key_spec
from anbefal.common.erasure import Subject, identity_hash, identity_hashes, scrubbed
from anbefal.common.events import ErasureRequested

OLD = Keyring.parse(key_spec("old", b"o" * 32))
ROTATED = Keyring.parse(f"{key_spec('new', b'n' * 32)},{key_spec('old', b'o' * 32)}")


def request(tenant: str, subject: Subject, keyring: Keyring = OLD) -> ErasureRequested:
    erasure_id = uuid.uuid4()
    return ErasureRequested(
        erasure_id=erasure_id,
        tenant=tenant,
        requested_at=datetime.now(UTC),
        subject=subject.seal(keyring, tenant, erasure_id),
    )


def test_a_sealed_subject_opens_only_for_its_own_request() -> None:
    subject = Subject(respondent_id="c-42", email=" Ida@Example.com ")
    sealed = request("acme", subject)
    assert "ida@example.com" not in sealed.subject.lower()
    assert Subject.opened(OLD, sealed) == Subject(respondent_id="c-42", email="ida@example.com")
    moved = sealed.model_copy(update={"tenant": "other"})
    with pytest.raises(Undecryptable):
        Subject.opened(OLD, moved)


def test_a_subject_names_someone() -> None:
    with pytest.raises(ValueError, match="respondent id or an email"):
        Subject()


def test_keyed_hashes_survive_a_rotation_and_separate_tenants() -> None:
    stored = identity_hash(OLD, "acme", "email", "ida@example.com")
    after_rotation = identity_hashes(ROTATED, "acme", "email", "ida@example.com")
    assert after_rotation[0].startswith("new.")  # new rows store the current key's hash
    assert stored in after_rotation  # old rows still match
    assert stored not in identity_hashes(ROTATED, "other", "email", "ida@example.com")
    assert stored != identity_hash(OLD, "acme", "respondent", "ida@example.com")


def test_a_scrubbed_document_keeps_the_figures_and_loses_the_person() -> None:
    document = {
        "score": 3,
        "answered_at": "2026-12-01T09:00:00+00:00",
        "segments": {"department": "Support"},
        "comment": "Ida here, call me on 12345678",
        "respondent": {
            "key": "c-42",
            "name": "Ida Holm",
            "email": "ida@example.com",
            "phone": "12345678",
            "locale": "da",
            "sealed": "c2VhbGVk",
        },
        "attached": [{"score": 2, "comment": "still Ida"}],
    }
    clean = scrubbed(document, "erased:1")
    assert clean["respondent"] == {"key": "erased:1", "locale": "da"}
    assert clean["comment"] is None
    assert clean["attached"] == [{"score": 2, "comment": None}]
    assert {k: clean[k] for k in ("score", "answered_at", "segments")} == {
        k: document[k] for k in ("score", "answered_at", "segments")
    }
