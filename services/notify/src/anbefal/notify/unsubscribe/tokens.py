"""Unsubscribe links: a sealed token naming the tenant and the address, never a database id.

Sealed (AES-256-GCM) with keys of their own, `ANBEFAL_UNSUBSCRIBE_KEYS`, a keyring: the first key
seals new links and every listed key still opens, so the links' keys rotate on their own, and
rotating the bearer tokens' keys never touches a link already mailed. The links do not expire: a
mail read a year later must still let its reader opt out, so a retired key stays listed as long
as its mails may be read. Sealing also keeps the address out of the URL.

Links mailed before they had keys of their own are JWTs signed with the JWT secret (audience
`anbefal:unsubscribe`); they are still read, with the secrets in
`ANBEFAL_UNSUBSCRIBE_LEGACY_SECRETS`, or without that setting with the JWT keys.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import jwt

from anbefal.common.crypto import Keyring, Undecryptable

LEGACY_AUDIENCE = "anbefal:unsubscribe"
_CONTEXT = b"anbefal:unsubscribe"


@dataclass(frozen=True)
class Subscriber:
    tenant: str
    email: str
    locale: str


@dataclass(frozen=True)
class LinkKeys:
    """What reads and writes links: the keyring, and the secrets of links in the old form."""

    keyring: Keyring
    legacy: Sequence[bytes] = ()


def sign(keys: LinkKeys, *, tenant: str, email: str, locale: str | None) -> str:
    claims = {"t": tenant, "e": email.strip().lower(), "l": locale or "en"}
    return keys.keyring.seal(json.dumps(claims, separators=(",", ":")).encode(), context=_CONTEXT)


def _subscriber(claims: object) -> Subscriber | None:
    if not isinstance(claims, dict) or not {"t", "e"} <= claims.keys():
        return None
    return Subscriber(tenant=str(claims["t"]), email=str(claims["e"]), locale=str(claims.get("l")))


def _read_legacy(secrets: Sequence[bytes], token: str) -> Subscriber | None:
    for secret in secrets:
        try:
            claims = jwt.decode(
                token,
                secret,
                algorithms=["HS256"],
                audience=LEGACY_AUDIENCE,
                options={"require": ["aud", "t", "e"]},
            )
        except jwt.PyJWTError:
            continue
        return _subscriber(claims)
    return None


def read(keys: LinkKeys, token: str) -> Subscriber | None:
    """The subscriber a token names, or None if it is forged, altered or not ours."""
    if token.count(".") == 2:  # header.payload.signature: a link in the old form
        return _read_legacy(keys.legacy, token)
    try:
        return _subscriber(json.loads(keys.keyring.open(token, context=_CONTEXT)))
    except (Undecryptable, ValueError):
        return None


def url(public_url: str, keys: LinkKeys, *, tenant: str, email: str, locale: str | None) -> str:
    token = sign(keys, tenant=tenant, email=email, locale=locale)
    return f"{public_url.rstrip('/')}/unsubscribe/{token}"
