"""Keyed hashes of a person's identifiers (common/erasure.py, common/contact.py).

HMAC-SHA256 under a key derived (HKDF) from each deployment key, with the tenant and the purpose
hashed in: a reader of a table cannot test guessed addresses without the keyring, equal values of
two tenants do not link, and a rotated keyring still finds the rows hashed under an older key.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache
from typing import Literal

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from anbefal.common.crypto import Keyring

Purpose = Literal["respondent", "email"]


def normalise_email(email: str) -> str:
    """The form every service compares addresses in (they are stored lower-cased)."""
    return email.strip().lower()


@lru_cache(maxsize=16)
def _hash_key(key: bytes) -> bytes:
    # A key of its own per deployment key: the HMAC never uses a key that also encrypts.
    return HKDF(hashes.SHA256(), 32, salt=None, info=b"anbefal identity hash").derive(key)


def identity_hashes(keyring: Keyring, tenant: str, purpose: Purpose, value: str) -> list[str]:
    """`kid.hex` under every deployment key, the current key's first: store the first, match
    any. Tenant and purpose are hashed in, so equal values of two tenants do not link."""
    message = f"{tenant}\x1f{purpose}\x1f{value}".encode()
    kids = [keyring.current] + [k for k in keyring.keys if k != keyring.current]
    return [
        f"{kid}.{hmac.new(_hash_key(keyring.keys[kid]), message, hashlib.sha256).hexdigest()}"
        for kid in kids
    ]


def identity_hash(keyring: Keyring, tenant: str, purpose: Purpose, value: str) -> str:
    """The hash a row stores (under the current key)."""
    return identity_hashes(keyring, tenant, purpose, value)[0]
