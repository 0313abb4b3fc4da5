from __future__ import annotations

from types import SimpleNamespace
from typing import Annotated

import httpx
import jwt
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from anbefal.common.app.errors import install_error_handlers
from anbefal.common.auth import InvalidToken, Principal, Role, issue_token, verify_token
from anbefal.common.deps import TenantPath, allow

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


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.state.runtime = SimpleNamespace(settings=SimpleNamespace(jwt_secret=SecretStr(SECRET)))

    @app.get("/v1/tenants/{tenant}/things")
    async def things(
        tenant: TenantPath, principal: Annotated[Principal, allow(Role.ADMIN, Role.OPS)]
    ) -> dict[str, str]:
        return {"tenant": tenant, "sub": principal.sub}

    return app


@pytest.mark.parametrize(
    ("tenant", "role", "status", "code"),
    [
        ("acme", "ops", 200, None),
        ("other", "ops", 403, "wrong_tenant"),
        ("acme", "viewer", 403, "forbidden"),
        (None, None, 401, "unauthenticated"),
    ],
)
async def test_one_dependency_checks_token_tenant_and_role(
    tenant: str | None, role: str | None, status: int, code: str | None
) -> None:
    headers = {}
    if tenant and role:
        token = issue_token(SECRET, tenant=tenant, role=role, sub="ida")
        headers["Authorization"] = f"Bearer {token}"
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/v1/tenants/acme/things", headers=headers)
    assert response.status_code == status, response.text
    if code:
        assert response.json()["error"]["code"] == code
    else:
        assert response.json() == {"tenant": "acme", "sub": "ida"}
