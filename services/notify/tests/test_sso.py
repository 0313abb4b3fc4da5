"""Single sign-on's pure parts: PKCE, the issuer rule, who a provider's claims make of a person."""

from __future__ import annotations

import httpx
import pytest

from anbefal.notify.sso.models import SsoProvider
from anbefal.notify.sso.oidc import Attempt, Provider, ProviderError, check_issuer, provider_http
from anbefal.notify.sso.service import check_roles, person, role_for


def acme(**overrides: object) -> SsoProvider:
    fields: dict[str, object] = {
        "tenant": "acme",
        "issuer": "https://login.acme.example",
        "client_id": "anbefal",
        "client_secret_sealed": "x",
        "domains": ["acme.example", "acme.dk"],
        "group_claim": "groups",
        "roles": {"cx-leads": "director", "support": "agent", "it": "admin"},
        "default_role": None,
    }
    fields.update(overrides)
    return SsoProvider(**fields)


def test_the_code_challenge_is_rfc_7636s_s256() -> None:
    # The example of RFC 7636, Appendix B.
    attempt = Attempt(state="s", nonce="n", verifier="dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
    assert attempt.challenge == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_each_attempt_is_new_and_its_verifier_is_within_the_rfcs_length() -> None:
    one, two = Attempt.new(), Attempt.new()
    assert one.state != two.state
    assert one.nonce != two.nonce
    assert 43 <= len(one.verifier) <= 128


@pytest.mark.parametrize(
    ("groups", "role"),
    [
        (["support"], "agent"),
        (["support", "cx-leads"], "director"),  # the widest of a person's roles
        (["it", "support"], "admin"),
        ("cx-leads", "director"),  # a provider that sends one group as a string
        (["marketing"], None),  # no mapped group and no default: refused
        (None, None),
    ],
)
def test_the_role_comes_from_the_group_claim(groups: object, role: str | None) -> None:
    claims = {"sub": "x"} if groups is None else {"sub": "x", "groups": groups}
    assert role_for(claims, acme()) == role


def test_a_default_role_admits_people_in_no_mapped_group() -> None:
    assert role_for({"groups": ["marketing"]}, acme(default_role="agent")) == "agent"


def test_a_role_that_is_not_a_staff_role_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="'owner' is not a staff role"):
        check_roles({"x": "owner"}, None)
    with pytest.raises(ValueError, match="'root'"):
        check_roles({}, "root")


def test_only_verified_addresses_in_the_tenants_domains_sign_in() -> None:
    assert person({"email": "Mette@ACME.example", "name": "Mette"}, acme()) is not None
    signed = person({"email": "Mette@ACME.example", "name": "Mette"}, acme())
    assert signed is not None
    assert signed.email == "mette@acme.example"
    assert person({"email": "mette@acme.example", "email_verified": False}, acme()) is None
    assert person({"email": "mette@evil.example"}, acme()) is None
    assert person({"email": "mette@sub.acme.example"}, acme()) is None
    assert person({"sub": "no email"}, acme()) is None


def test_the_issuer_must_be_https_unless_the_operator_allows_http() -> None:
    assert check_issuer("https://login.acme.example/", allow_http=False) == (
        "https://login.acme.example"
    )
    with pytest.raises(ValueError, match="https"):
        check_issuer("http://127.0.0.1:9400", allow_http=False)
    assert check_issuer("http://127.0.0.1:9400", allow_http=True) == "http://127.0.0.1:9400"
    with pytest.raises(ValueError, match="plain URL"):
        check_issuer("https://user:pw@login.acme.example", allow_http=False)


ISSUER = "https://login.example.com"
DISCOVERY = {
    "issuer": ISSUER,
    "authorization_endpoint": f"{ISSUER}/authorize",
    "token_endpoint": f"{ISSUER}/token",
    "jwks_uri": f"{ISSUER}/jwks",
}


def provider_client(addresses: list[str], seen: list[httpx.Request]) -> httpx.AsyncClient:
    """The client SSO calls a provider with, behind a resolver that answers `addresses`."""

    async def resolver(host: str, port: int) -> list[str]:
        assert (host, port) == ("login.example.com", 443)
        return addresses

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=DISCOVERY)

    return provider_http(
        allow_local=False, resolver=resolver, transport=httpx.MockTransport(answer)
    )


@pytest.mark.parametrize("addresses", [["10.0.0.5"], ["93.184.216.34", "127.0.0.1"], []])
async def test_an_issuer_that_resolves_inside_the_network_is_never_called(
    addresses: list[str],
) -> None:
    """An admin sets the issuer; it must not turn notify into a way into the network."""
    seen: list[httpx.Request] = []
    async with provider_client(addresses, seen) as client:
        with pytest.raises(ProviderError):
            await Provider().endpoints(client, ISSUER)
    assert seen == []


async def test_a_public_issuer_is_called_at_the_address_that_was_checked() -> None:
    seen: list[httpx.Request] = []
    async with provider_client(["93.184.216.34"], seen) as client:
        found = await Provider().endpoints(client, ISSUER)
    assert found.token == f"{ISSUER}/token"
    (request,) = seen
    assert request.url.host == "93.184.216.34"
    assert request.headers["host"] == "login.example.com"
    assert request.extensions["sni_hostname"] == "login.example.com"
