from __future__ import annotations

from types import SimpleNamespace
from typing import Annotated

import httpx
import jwt
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from anbefal.common.app.errors import install_error_handlers
from anbefal.common.auth import (
    API_AUDIENCE,
    InvalidToken,
    Principal,
    Role,
    issue_token,
    verify_token,
)
from anbefal.common.crypto import Keyring, key_spec
from anbefal.common.deps import TenantPath, allow
from anbefal.common.settings import BaseServiceSettings

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
        {"tenant": "acme", "role": "root", "sub": "x", "iat": 1, "exp": 2**40, "iss": "anbefal"}
        | {"aud": API_AUDIENCE},
        SECRET,
        algorithm="HS256",
        headers={"kid": "default"},
    )
    with pytest.raises(InvalidToken, match="role"):
        verify_token(SECRET, forged)
    with pytest.raises(ValueError, match="role"):
        issue_token(SECRET, tenant="acme", role="root", sub="x")


def test_a_token_is_for_the_apis_audience_only() -> None:
    claims = {"tenant": "acme", "role": "admin", "sub": "x", "iat": 1, "exp": 2**40}
    for audience in (None, "anbefal:staff", "anbefal:unsubscribe"):
        other = jwt.encode(
            {**claims, "iss": "anbefal"} | ({"aud": audience} if audience else {}),
            SECRET,
            algorithm="HS256",
            headers={"kid": "default"},
        )
        with pytest.raises(InvalidToken):
            verify_token(SECRET, other)
    token = issue_token(SECRET, tenant="acme", role="agent", sub="ida")
    assert jwt.decode(token, options={"verify_signature": False})["aud"] == API_AUDIENCE


def test_keys_rotate_by_key_id() -> None:
    old, new = key_spec("old"), key_spec("new")
    before = Keyring.parse(old)
    rotated = Keyring.parse(f"{new},{old}")
    issued_before = issue_token(before, tenant="acme", role="agent", sub="ida")
    assert jwt.get_unverified_header(issued_before)["kid"] == "old"
    # The old key still verifies what it signed; new tokens are signed with the first key.
    assert verify_token(rotated, issued_before).sub == "ida"
    issued_after = issue_token(rotated, tenant="acme", role="agent", sub="ole")
    assert jwt.get_unverified_header(issued_after)["kid"] == "new"
    assert verify_token(rotated, issued_after).sub == "ole"
    # Once the old key is dropped, its tokens are refused; the old ring never knew the new key.
    with pytest.raises(InvalidToken, match="kid"):
        verify_token(Keyring.parse(new), issued_before)
    with pytest.raises(InvalidToken, match="kid"):
        verify_token(before, issued_after)
    # A token naming a listed key id but signed with another key is refused too.
    forged = issue_token(Keyring.parse(key_spec("new")), tenant="acme", role="admin", sub="x")
    with pytest.raises(InvalidToken, match="[Ss]ignature"):
        verify_token(rotated, forged)


def test_settings_take_a_keyring_or_one_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANBEFAL_JWT_KEYS", raising=False)
    monkeypatch.delenv("ANBEFAL_JWT_SECRET", raising=False)
    spec = f"{key_spec('k2')},{key_spec('k1')}"
    both = BaseServiceSettings(jwt_keys=SecretStr(spec), jwt_secret=SecretStr(SECRET))
    assert both.signing_keys().current == "k2"
    assert BaseServiceSettings(jwt_secret=SecretStr(SECRET)).signing_keys().current == "default"
    with pytest.raises(ValueError, match="ANBEFAL_JWT_KEYS"):
        BaseServiceSettings()
    with pytest.raises(ValueError, match="placeholder"):
        BaseServiceSettings(jwt_secret=SecretStr("changeme" + " " * 30))
    with pytest.raises(ValueError, match="32"):
        BaseServiceSettings(jwt_secret=SecretStr("short"))


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    settings = BaseServiceSettings(jwt_secret=SecretStr(SECRET))
    app.state.runtime = SimpleNamespace(settings=settings)

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


def test_a_scoped_token_carries_its_scope_and_an_unscoped_one_none() -> None:
    from anbefal.common.auth import parse_scope

    scope = parse_scope("team=Alpha, country=DK")
    lead = verify_token(
        SECRET,
        issue_token(SECRET, tenant="acme", role="viewer", sub="lead@acme.example", scope=scope),
    )
    assert lead.scope == (("country", "DK"), ("team", "Alpha"))
    assert lead.sees({"team": "Alpha", "country": "DK", "site": "Aarhus"})
    assert not lead.sees({"team": "Beta", "country": "DK"})
    assert not lead.sees({"country": "DK"})
    everyone = verify_token(
        SECRET, issue_token(SECRET, tenant="acme", role="viewer", sub="v@acme.example")
    )
    assert everyone.scope == ()
    assert everyone.sees({"team": "Beta"})


@pytest.mark.parametrize("text", ["team", "team=", "=Alpha", "team=Alpha,team=Beta"])
def test_a_scope_that_is_not_dimension_value_is_refused_with_the_part_named(text: str) -> None:
    from anbefal.common.auth import parse_scope

    with pytest.raises(ValueError, match="scope"):
        parse_scope(text)
