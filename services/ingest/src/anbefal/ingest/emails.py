"""Email addresses validated fast: a plain ASCII address is checked with one regular expression,
anything else by email-validator (pydantic's EmailStr rules).

email-validator costs about 100 µs an address (its IDNA and Unicode checks), which made it the
largest cost of a 500-answer batch. The fast path accepts only what email-validator accepts and
returns the same normalised form; `tests/test_emails.py` checks that property.
"""

from __future__ import annotations

import re
from typing import Annotated

from email_validator import SPECIAL_USE_DOMAIN_NAMES
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES
from pydantic import AfterValidator, WithJsonSchema
from pydantic.networks import validate_email

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ROLE_MAILBOXES = frozenset(CASE_INSENSITIVE_MAILBOX_NAMES)
_PLAIN = re.compile(rf"({_ATEXT}(?:\.{_ATEXT})*)@((?:{_LABEL}\.)+[A-Za-z]{{2,63}})")


# email-validator's special-use names, and each as a suffix, built once: building ".name" for
# every name on every address was a quarter of the address's check (a 500-answer batch checks
# one or two addresses per answer).
_SPECIAL_USE = frozenset(SPECIAL_USE_DOMAIN_NAMES)
_SPECIAL_USE_SUFFIXES = tuple(f".{name}" for name in SPECIAL_USE_DOMAIN_NAMES)


def _special_use(domain: str) -> bool:
    return domain in _SPECIAL_USE or domain.endswith(_SPECIAL_USE_SUFFIXES)


def normalise_email(value: str) -> str:
    match = _PLAIN.fullmatch(value)
    if match is not None:
        local, domain = match.group(1), match.group(2).lower()
        # "--" in a label may be an IDNA (xn--) label: those take the full rules.
        if len(local) <= 64 and len(value) <= 254 and "--" not in domain:
            if not _special_use(domain):
                # RFC 2142 role mailboxes (info@, support@, ...) are case-insensitive, and
                # email-validator lowercases them (found by tests/test_emails.py).
                if local.lower() in _ROLE_MAILBOXES:
                    local = local.lower()
                return f"{local}@{domain}"
    return validate_email(value)[1]


Email = Annotated[
    str,
    AfterValidator(normalise_email),
    WithJsonSchema({"type": "string", "format": "email"}),
]
