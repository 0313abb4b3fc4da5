"""Bearer JWTs for every API: claims `tenant`, `role`, `sub`, `aud`, `jti`, signed HS256 with the
deployment's current key and naming it in the `kid` header.

Keys rotate: `ANBEFAL_JWT_KEYS` is a keyring (`kid:base64url-32-bytes,...`, as
`ANBEFAL_DATA_KEYS`; `anbefal keys new --kid ID` prints an entry): the first key signs new
tokens and every listed one still verifies, so a retired key is dropped once the tokens it signed
have expired. `ANBEFAL_JWT_SECRET` alone is the one key `default`.

Every token here is for the APIs' audience (`anbefal:api`) and nothing else is: the staff pages'
session cookie is not a JWT at all, and unsubscribe links have keys of their own.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import jwt

from anbefal.common.crypto import Keyring


class Role(StrEnum):
    """What a token's holder may do; each route names the roles it admits."""

    ADMIN = "admin"
    DIRECTOR = "director"
    AGENT = "agent"
    VIEWER = "viewer"
    INGEST = "ingest"  # a survey tool or import posting answers
    OPS = "ops"


ROLES: tuple[str, ...] = tuple(r.value for r in Role)
# The tenant claim of an operator's token for the deployment-wide routes (`/v1/ops/...`, e.g.
# what `anbefal status` reads). No tenant is named `*` (`events.TENANT_PATTERN`), so such a
# token acts for no tenant and every tenant route refuses it.
DEPLOYMENT = "*"
ALGORITHM = "HS256"
ISSUER = "anbefal"
API_AUDIENCE = "anbefal:api"
DEFAULT_KID = "default"
MIN_SECRET_CHARS = 32
# Values people paste from examples; a deployment that still uses one is not secured.
PLACEHOLDER_SECRETS = frozenset({"changeme", "change-me", "secret", "password", "example", "xxx"})


class InvalidToken(Exception):
    pass


Scope = tuple[tuple[str, str], ...]
"""A team lead's segment values, sorted `(dimension, value)` pairs; empty means the whole tenant."""


def scope_of(values: Mapping[str, str] | None) -> Scope:
    """The canonical scope for a mapping such as `{"team": "Alpha"}` (sorted, so equal scopes
    compare equal and hash alike)."""
    return tuple(sorted((str(k), str(v)) for k, v in (values or {}).items()))


def parse_scope(text: str) -> Scope:
    """`team=Alpha,country=DK` (the CLI's `--scope`) as a scope; raises ValueError naming the
    part that is not `dimension=value`."""
    pairs: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        dimension, sep, value = part.partition("=")
        if not sep or not dimension.strip() or not value.strip():
            raise ValueError(f"scope part {part!r} is not dimension=value")
        if dimension.strip() in pairs:
            raise ValueError(f"scope names the dimension {dimension.strip()!r} twice")
        pairs[dimension.strip()] = value.strip()
    return scope_of(pairs)


@dataclass(frozen=True)
class Principal:
    tenant: str
    role: Role
    sub: str
    # A scoped reader (a team lead) sees only answers, figures and tasks whose segments hold all
    # of these values. The service that owns the data enforces it, never only a page.
    scope: Scope = ()

    @property
    def scoped(self) -> bool:
        return bool(self.scope)

    def sees(self, segments: Mapping[str, str]) -> bool:
        """Whether a record with these segment values is inside this reader's scope."""
        return all(segments.get(dimension) == value for dimension, value in self.scope)


def single_key(secret: str) -> Keyring:
    """`ANBEFAL_JWT_SECRET`: one key, `default`, of at least 32 characters and no placeholder."""
    if len(secret) < MIN_SECRET_CHARS:
        raise ValueError(f"the secret needs at least {MIN_SECRET_CHARS} characters")
    if secret.strip().lower() in PLACEHOLDER_SECRETS:
        raise ValueError("the secret is a placeholder; set a random secret")
    return Keyring(current=DEFAULT_KID, keys={DEFAULT_KID: secret.encode()})


def _keys(keys: Keyring | str) -> Keyring:
    return keys if isinstance(keys, Keyring) else single_key(keys)


def issue_token(
    keys: Keyring | str,
    *,
    tenant: str,
    role: Role | str,
    sub: str,
    ttl_s: int = 30 * 24 * 3600,
    scope: Scope = (),
) -> str:
    """A bearer token for the APIs, signed with the current key (a plain secret is the one key
    `default`)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    ring = _keys(keys)
    now = int(time.time())
    claims: dict[str, object] = {
        "tenant": tenant,
        "role": str(role),
        "sub": sub,
        "iat": now,
        "exp": now + ttl_s,
        "iss": ISSUER,
        "aud": API_AUDIENCE,
        "jti": secrets.token_urlsafe(12),
    }
    if scope:
        claims["scope"] = dict(scope)
    secret = ring.keys[ring.current]
    return jwt.encode(claims, secret, algorithm=ALGORITHM, headers={"kid": ring.current})


def verify_token(keys: Keyring | str, token: str) -> Principal:
    ring = _keys(keys)
    try:
        kid = jwt.get_unverified_header(token).get("kid")
        secret = ring.keys.get(kid) if isinstance(kid, str) else None
        if secret is None:
            raise InvalidToken("unknown or missing key id (kid)")
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            audience=API_AUDIENCE,
            options={"require": ["exp", "iat", "iss", "aud", "tenant", "role", "sub"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    if claims["role"] not in ROLES:
        raise InvalidToken("unknown role")
    raw_scope = claims.get("scope") or {}
    if not isinstance(raw_scope, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw_scope.items()
    ):
        raise InvalidToken("scope must map dimensions to values")
    return Principal(
        tenant=str(claims["tenant"]),
        role=Role(claims["role"]),
        sub=str(claims["sub"]),
        scope=scope_of(raw_scope),
    )
