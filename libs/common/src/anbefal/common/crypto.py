"""Authenticated encryption for data at rest and in events (AES-256-GCM from `cryptography`).

Two layers, both on the same primitive:

- a **keyring** of deployment keys from the environment (`ANBEFAL_DATA_KEYS`), each with an id, so
  a key can rotate: the first key seals, every listed key still opens what it sealed. Secrets in
  the database (webhook secrets, vendor tokens, SMTP passwords) and the per-record data keys below
  are sealed with it;
- **per-record keys** (`new_key`, `seal_with_key`, `open_with_key`): a random key per respondent
  whose deletion makes every copy sealed with it unreadable (crypto-shredding).

`context` is bound as associated data: a value sealed for one row or purpose does not open for
another, so a ciphertext copied between rows or tenants is refused rather than misread.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
_NONCE_BYTES = 12  # the size AES-GCM is specified for; random per seal


class Undecryptable(Exception):
    """The value cannot be opened: wrong or unknown key, other context, or tampered bytes."""


class BadKeySpec(ValueError):
    """`ANBEFAL_DATA_KEYS` is malformed; the message says how."""


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def seal_with_key(key: bytes, plaintext: bytes, context: bytes) -> bytes:
    """`nonce | ciphertext+tag` under `key`, with `context` authenticated alongside."""
    nonce = os.urandom(_NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, context)


def open_with_key(key: bytes, blob: bytes, context: bytes) -> bytes:
    if len(blob) <= _NONCE_BYTES:
        raise Undecryptable("sealed value is too short")
    try:
        return AESGCM(key).decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], context)
    except InvalidTag as exc:
        raise Undecryptable("sealed value does not open with this key and context") from exc


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise Undecryptable("sealed value is not base64url") from exc


def key_spec(kid: str, key: bytes | None = None) -> str:
    """One `kid:base64url-key` entry for `ANBEFAL_DATA_KEYS` (a fresh key unless given)."""
    return f"{kid}:{_b64encode(key if key is not None else new_key())}"


@dataclass(frozen=True)
class Keyring:
    """Deployment keys by id; `current` seals, all of them open."""

    current: str
    keys: dict[str, bytes]

    @classmethod
    def parse(cls, spec: str) -> Keyring:
        """`kid:base64url-32-bytes[,kid:...]`; the first entry is the key new values use."""
        keys: dict[str, bytes] = {}
        for entry in (part.strip() for part in spec.split(",")):
            if not entry:
                continue
            kid, sep, encoded = entry.partition(":")
            if not sep or not kid or not kid.isalnum():
                raise BadKeySpec("each entry must be 'kid:key' with an alphanumeric key id")
            try:
                key = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            except (binascii.Error, ValueError) as exc:
                raise BadKeySpec(f"key {kid!r} is not base64url") from exc
            if len(key) != KEY_BYTES:
                raise BadKeySpec(f"key {kid!r} must be {KEY_BYTES} bytes, got {len(key)}")
            if kid in keys:
                raise BadKeySpec(f"key id {kid!r} is listed twice")
            keys[kid] = key
        if not keys:
            raise BadKeySpec("no keys given; generate one with `anbefal keys new`")
        return cls(current=next(iter(keys)), keys=keys)

    def seal(self, plaintext: bytes, *, context: bytes) -> str:
        """`kid.base64url(nonce|ciphertext)`: text that fits a column or a JSON field."""
        blob = seal_with_key(self.keys[self.current], plaintext, context)
        return f"{self.current}.{_b64encode(blob)}"

    def open(self, token: str, *, context: bytes) -> bytes:
        kid, sep, encoded = token.partition(".")
        if not sep:
            raise Undecryptable("sealed value has no key id")
        key = self.keys.get(kid)
        if key is None:
            raise Undecryptable(f"sealed with key {kid!r}, which is not configured")
        return open_with_key(key, _b64decode(encoded), context)

    def key_id(self, token: str) -> str:
        """Which key sealed `token`: a rotation re-seals the values whose id is not `current`."""
        return token.partition(".")[0]

    def seal_text(self, plaintext: str, *, context: str) -> str:
        return self.seal(plaintext.encode(), context=context.encode())

    def open_text(self, token: str, *, context: str) -> str:
        return self.open(token, context=context.encode()).decode()
