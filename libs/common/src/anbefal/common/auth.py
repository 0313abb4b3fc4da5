"""Bearer JWTs for every API: claims `tenant`, `role`, `sub`, signed with the deployment's key."""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum

import jwt


class Role(StrEnum):
    """What a token's holder may do; each route names the roles it admits."""

    ADMIN = "admin"
    DIRECTOR = "director"
    AGENT = "agent"
    VIEWER = "viewer"
    INGEST = "ingest"  # a survey tool or import posting answers
    OPS = "ops"


ROLES: tuple[str, ...] = tuple(r.value for r in Role)
ALGORITHM = "HS256"
ISSUER = "anbefal"


class InvalidToken(Exception):
    pass


@dataclass(frozen=True)
class Principal:
    tenant: str
    role: Role
    sub: str


def issue_token(
    secret: str, *, tenant: str, role: Role | str, sub: str, ttl_s: int = 30 * 24 * 3600
) -> str:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    now = int(time.time())
    claims = {"tenant": tenant, "role": str(role), "sub": sub, "iat": now, "exp": now + ttl_s}
    return jwt.encode({**claims, "iss": ISSUER}, secret, algorithm=ALGORITHM)


def verify_token(secret: str, token: str) -> Principal:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "iss", "tenant", "role", "sub"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    if claims["role"] not in ROLES:
        raise InvalidToken("unknown role")
    return Principal(
        tenant=str(claims["tenant"]), role=Role(claims["role"]), sub=str(claims["sub"])
    )
