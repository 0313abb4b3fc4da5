"""The fast email check accepts only what pydantic's EmailStr (email-validator) accepts, and
normalises it the same way; anything else is decided by email-validator itself."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import EmailStr, TypeAdapter, ValidationError
from pydantic_core import PydanticCustomError

from anbefal.ingest.emails import Email, normalise_email

EMAIL_STR: TypeAdapter[str] = TypeAdapter(EmailStr)
FAST: TypeAdapter[str] = TypeAdapter(Email)

LOCAL = st.from_regex(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,70}", fullmatch=True)
DOMAIN = st.from_regex(
    r"([A-Za-z0-9-]{1,12}\.){1,3}[A-Za-z0-9]{1,8}", fullmatch=True
) | st.sampled_from(
    ["example.com", "Example.COM", "mail.test", "x.localhost", "xn--bcher-kva.example", "a--b.dk"]
)


def reference(value: str) -> str | None:
    try:
        return EMAIL_STR.validate_python(value)
    except ValidationError:
        return None


def fast(value: str) -> str | None:
    try:
        return FAST.validate_python(value)
    except ValidationError:
        return None


@settings(max_examples=1500, deadline=None)
@given(local=LOCAL, domain=DOMAIN)
def test_fast_path_agrees_with_email_validator(local: str, domain: str) -> None:
    value = f"{local}@{domain}"
    assert fast(value) == reference(value)


@settings(max_examples=300, deadline=None)
@given(value=st.emails() | st.text(max_size=40))
def test_any_text_gets_the_same_verdict(value: str) -> None:
    assert fast(value) == reference(value)


@pytest.mark.parametrize(
    "value",
    ["ida..holm@example.com", ".ida@example.com", "ida@-example.com", "ida@example", "ida@x.test"],
)
def test_refused(value: str) -> None:
    with pytest.raises(PydanticCustomError):
        normalise_email(value)


def test_domain_is_lowercased_local_part_kept() -> None:
    assert normalise_email("Ida.Holm@Example.COM") == "Ida.Holm@example.com"
    assert reference("Ida.Holm@Example.COM") == "Ida.Holm@example.com"


@pytest.mark.parametrize(
    "value", ["INFO@A.AC", "Support@Example.com", "PostMaster@example.org", "Ida.Holm@Example.com"]
)
def test_role_mailboxes_are_lowercased_and_others_keep_their_case(value: str) -> None:
    # RFC 2142 role names are case-insensitive; email-validator lowercases them, so must we.
    assert fast(value) == reference(value)
