from __future__ import annotations

import jwt
import pytest

from anbefal.common.auth import InvalidToken, issue_token, verify_token

SECRET = "x" * 48


def test_issued_token_verifies() -> None:
    token = issue_token(SECRET, tenant="acme", role="agent", sub="ida")
    principal = verify_token(SECRET, token)
    assert (principal.tenant, principal.role, principal.sub) == ("acme", "agent", "ida")


def test_wrong_secret_expired_and_unknown_roles_are_refused() -> None:
    token = issue_token(SECRET, tenant="acme", role="agent", sub="ida")
    with pytest.raises(InvalidToken):
        verify_token("y" * 48, token)
    with pytest.raises(InvalidToken, match="expired"):
        verify_token(SECRET, issue_token(SECRET, tenant="acme", role="agent", sub="i", ttl_s=-10))
    forged = jwt.encode(
        {"tenant": "acme", "role": "root", "sub": "x", "iat": 1, "exp": 2**40, "iss": "anbefal"},
        SECRET,
        algorithm="HS256",
    )
    with pytest.raises(InvalidToken, match="role"):
        verify_token(SECRET, forged)
    with pytest.raises(ValueError, match="role"):
        issue_token(SECRET, tenant="acme", role="root", sub="x")
