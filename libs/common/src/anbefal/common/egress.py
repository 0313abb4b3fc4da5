"""Outbound HTTP to a host someone else named (a survey tool's API, a tenant's sign-in
provider): only to public addresses, and to the address that was checked.

The host is resolved, every address it resolves to must be public (no private, loopback,
link-local, shared or reserved range), and the request connects to a checked address with the
host name kept for the `Host` header and TLS (SNI and certificate), so a DNS answer that changes
between the check and the connection cannot send the request elsewhere.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable

import httpx

Resolver = Callable[[str, int], Awaitable[list[str]]]


async def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, in the resolver's order."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class PublicOnly(httpx.AsyncBaseTransport):
    """A transport that connects only to public addresses, each request to the address it
    checked (the next one if that does not answer). A host with any non-public address is
    refused whole: an attacker's DNS can mix one in. Refusals are `httpx.ConnectError`s."""

    def __init__(
        self, *, resolver: Resolver = resolve, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._resolver = resolver
        self._inner = transport or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        port = request.url.port or (443 if request.url.scheme == "https" else 80)
        try:
            addresses = await self._resolver(host, port)
        except OSError as exc:
            raise httpx.ConnectError(f"cannot resolve {host}: {exc!r}", request=request) from exc
        refused = [a for a in addresses if not is_public(a)]
        if refused or not addresses:
            raise httpx.ConnectError(
                f"{host} resolves to a non-public address {refused}; not connecting",
                request=request,
            )
        last: httpx.ConnectError | None = None
        for address in addresses:
            # httpx set `Host` from the URL when the request was built; it stays the name.
            request.url = request.url.copy_with(host=address)
            request.extensions = {**request.extensions, "sni_hostname": host}
            try:
                return await self._inner.handle_async_request(request)
            except httpx.ConnectError as exc:
                last = exc  # the host's next address, as a resolver's client would
        assert last is not None
        raise last

    async def aclose(self) -> None:
        await self._inner.aclose()
