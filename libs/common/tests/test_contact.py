"""A respondent's contact data sealed in events: it opens with their key only, and without the
key (shredded) it reads as erased, never as an error."""

from __future__ import annotations

from anbefal.common.contact import needs_sealing, open_sealed, seal
from anbefal.common.crypto import Keyring, key_spec, new_key
from anbefal.common.events import Respondent, SurveyResponse, decode
from anbefal.common.identity import identity_hashes
from anbefal.devstack.testing import call_task_action

IDA = Respondent(
    key="c-42", name="Ida Holm", email="ida@example.com", phone="+45 12345678", locale="da"
)
KEYRING = Keyring.parse(key_spec("k1", b"k" * 32))
# Sealing leaves the email's keyed hash beside the seal: an erasure by email finds it by that.
HASHED = IDA.model_copy(
    update={"email_hash": identity_hashes(KEYRING, "acme", "email", "ida@example.com")[0]}
)


def test_sealed_contact_keeps_routing_fields_and_opens_with_its_key() -> None:
    key = new_key()
    sealed = seal(key, "acme", IDA, KEYRING)

    assert (sealed.name, sealed.email, sealed.phone) == (None, None, None)
    assert (sealed.key, sealed.locale) == ("c-42", "da")
    assert sealed.sealed is not None
    assert b"ida@example.com" not in sealed.model_dump_json().encode()
    assert sealed.email_hash == HASHED.email_hash
    assert open_sealed(key, "acme", sealed) == HASHED


def test_without_its_key_or_under_another_tenant_the_contact_reads_as_erased() -> None:
    key = new_key()
    sealed = seal(key, "acme", IDA, KEYRING)
    erased = HASHED.model_copy(update={"name": None, "email": None, "phone": None})

    assert open_sealed(None, "acme", sealed) == erased  # the key was shredded
    assert open_sealed(new_key(), "acme", sealed) == erased  # a newer key of the same person
    assert open_sealed(key, "other", sealed) == erased  # copied to another tenant
    garbled = sealed.model_copy(update={"sealed": "not base64 at all!"})
    assert open_sealed(key, "acme", garbled) == erased


def test_records_from_before_sealing_still_read_and_are_sealed_on_the_way_out() -> None:
    old = call_task_action("acme", 1)  # a plaintext respondent, as records on the topics hold
    assert decode(type(old), old.to_bytes()) == old
    assert needs_sealing(old)
    enps = SurveyResponse.model_validate(
        {
            **old.model_dump(include={"tenant", "answered_at", "score"}),
            "event_id": old.response_event_id,
            "version": 1,
            "kind": "enps",
            "received_at": old.answered_at,
            "source": {"tool": "api", "response_id": "r-1"},
            "respondent": {"key": "e-1", "locale": "da"},
        }
    )
    assert not needs_sealing(enps)  # nothing to seal: no key is minted for it
