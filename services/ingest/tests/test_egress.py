"""The fetcher's way out: a vendor host is resolved, every address it has must be public, and
the request goes to the address that was checked, with the host name for `Host` and TLS."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from anbefal.common.egress import is_public
from anbefal.devstack.testing import TEST_JWT_SECRET
from anbefal.ingest.settings import IngestSettings
from anbefal.ingest.sources.config import Source, SourceIn
from anbefal.ingest.webhooks.egress import FetchFailed, VendorHttp

SETTINGS = IngestSettings(jwt_secret=TEST_JWT_SECRET)
QUALTRICS = Source.build(
    "acme",
    "qx",
    SourceIn.model_validate(
        {
            "tool": "qualtrics",
            "secret": "a-long-enough-shared-key-0123456789abcdef",
            "fields": {"score": "QID1"},
            "api_base_url": "https://fra1.qualtrics.com/API/v3",
            "api_token": "tok",
        }
    ),
)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
        "0.0.0.0", "224.0.0.1", "192.0.2.1", "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1",
        "::ffff:10.0.0.1", "::",
    ],
)  # fmt: skip
def test_private_loopback_link_local_and_reserved_addresses_are_not_public(address: str) -> None:
    assert not is_public(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700:4700::1111"])
def test_internet_addresses_are_public(address: str) -> None:
    assert is_public(address)


def api(addresses: list[str], seen: list[httpx.Request]) -> VendorHttp:
    async def resolver(host: str, port: int) -> list[str]:
        assert (host, port) == ("fra1.qualtrics.com", 443)
        return addresses

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"result": {"values": {}}})

    return VendorHttp(SETTINGS, resolver=resolver, transport=httpx.MockTransport(answer))


async def test_the_request_goes_to_the_checked_address_named_by_its_host() -> None:
    seen: list[httpx.Request] = []
    got = await api(["93.184.216.34"], seen).get_json(
        QUALTRICS, ("API", "v3", "surveys", "SV_1", "responses", "R_1"), {"X-API-TOKEN": "tok"}
    )
    assert got == {"result": {"values": {}}}
    (request,) = seen
    assert str(request.url) == "https://93.184.216.34/API/v3/surveys/SV_1/responses/R_1"
    assert request.headers["host"] == "fra1.qualtrics.com"
    assert request.extensions["sni_hostname"] == "fra1.qualtrics.com"  # TLS checks the name


@pytest.mark.parametrize(
    "addresses", [["127.0.0.1"], ["93.184.216.34", "10.0.0.5"], ["169.254.169.254"], []]
)
async def test_a_vendor_host_resolving_to_any_private_address_is_never_contacted(
    addresses: list[str],
) -> None:
    seen: list[httpx.Request] = []
    with pytest.raises(FetchFailed) as caught:
        await api(addresses, seen).get_json(QUALTRICS, ("API", "v3", "x"), {})
    assert caught.value.permanent
    assert seen == []


async def test_a_redirect_is_not_followed() -> None:
    seen: list[Any] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(302, headers={"location": "http://10.0.0.1/admin"})

    async def resolver(host: str, port: int) -> list[str]:
        return ["93.184.216.34"]

    vendor = VendorHttp(SETTINGS, resolver=resolver, transport=httpx.MockTransport(answer))
    with pytest.raises(FetchFailed, match="answered 302"):
        await vendor.get_json(QUALTRICS, ("API", "v3", "x"), {})
    assert seen == ["/API/v3/x"]
