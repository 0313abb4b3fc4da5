"""Unsubscribe links: a signed token naming the tenant and the address, never a database id.

Signed with the deployment's JWT key but with its own audience and without the staff claims
(`role`, `sub`, `exp`), so an unsubscribe token is never accepted as a bearer token and a bearer
token is never accepted here. The links do not expire: a mail read a year later must still let
its reader opt out.
"""

from __future__ import annotations

from dataclasses import dataclass

import jwt

AUDIENCE = "anbefal:unsubscribe"
_ALGORITHM = "HS256"


@dataclass(frozen=True)
class Subscriber:
    tenant: str
    email: str
    locale: str


def sign(secret: str, *, tenant: str, email: str, locale: str | None) -> str:
    claims = {"aud": AUDIENCE, "t": tenant, "e": email.strip().lower(), "l": locale or "en"}
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


def read(secret: str, token: str) -> Subscriber | None:
    """The subscriber a token names, or None if it is forged, altered or not ours."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[_ALGORITHM],
            audience=AUDIENCE,
            options={"require": ["aud", "t", "e"]},
        )
    except jwt.PyJWTError:
        return None
    return Subscriber(tenant=str(claims["t"]), email=str(claims["e"]), locale=str(claims.get("l")))


def url(public_url: str, secret: str, *, tenant: str, email: str, locale: str | None) -> str:
    token = sign(secret, tenant=tenant, email=email, locale=locale)
    return f"{public_url.rstrip('/')}/unsubscribe/{token}"
