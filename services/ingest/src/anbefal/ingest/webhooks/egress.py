"""Outbound HTTP to the survey tools' APIs: the one way ingest reaches out, and only to them.

A source's URL names its vendor's host (`sources/vendors.py`); here the host is resolved, every
address it resolves to must be public (`common/egress.py`), and the request connects to the
address that was checked, with the host name kept for the `Host` header and TLS (SNI and
certificate), so a DNS answer that changes between the check and the connection cannot send the
token elsewhere. No redirects, no proxies from the environment, each id an encoded path
segment, and the answer read up to a size cap.

The operator's `ingest_vendor_api_override` (an environment setting, never the API's) sends every
call to one fixed origin instead, exempt from these rules: the local fake of the tools in tests.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from anbefal.common.egress import Resolver, is_public, resolve
from anbefal.ingest.settings import IngestSettings
from anbefal.ingest.sources.config import Source
from anbefal.ingest.sources.vendors import api_url, vendor_origin


class FetchFailed(Exception):
    """A call to a tool's API failed. `detail` is for the ops log only (a tenant sees a generic
    message: a status or a connection error would make the fetcher a port scanner)."""

    def __init__(self, detail: str, *, permanent: bool, status: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.permanent = permanent
        # The tool's HTTP status, when it answered one.
        self.status = status


class VendorHttp:
    def __init__(
        self,
        settings: IngestSettings,
        *,
        resolver: Resolver = resolve,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.max_bytes = settings.ingest_fetch_max_bytes
        override = settings.ingest_vendor_api_override
        self.override = override.rstrip("/") if override else None
        self.resolver = resolver
        self.client = httpx.AsyncClient(
            timeout=settings.ingest_fetch_timeout_s,
            follow_redirects=False,
            trust_env=False,
            transport=transport,
            limits=httpx.Limits(max_connections=settings.ingest_fetch_concurrency * 2),
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    async def get_json(
        self, source: Source, segments: tuple[str, ...], headers: dict[str, str]
    ) -> Any:
        """GET the path of `segments` from the source's tool API, as JSON."""
        if self.override is not None:
            return await self._get(source.tool, api_url(self.override, segments), headers, {})
        try:
            origin = vendor_origin(source.tool, source.api_base_url or "")
            host = urlsplit(origin).hostname or ""
            addresses = await self._checked_addresses(host)
            # ids are checked before anything is sent
            api_url(origin, segments)
        except ValueError as exc:
            raise FetchFailed(str(exc), permanent=True) from exc
        last: FetchFailed | None = None
        for address in addresses:
            literal = f"[{address}]" if ":" in address else address
            try:
                return await self._get(
                    source.tool,
                    api_url(f"https://{literal}", segments),
                    {**headers, "Host": host},
                    {"sni_hostname": host},
                )
            except _Unreachable as exc:
                last = exc  # the next address, as a resolver's client would
        assert last is not None
        raise last

    async def _checked_addresses(self, host: str) -> list[str]:
        try:
            addresses = await self.resolver(host, 443)
        except OSError as exc:
            raise FetchFailed(f"cannot resolve {host}: {exc!r}", permanent=False) from exc
        refused = [a for a in addresses if not is_public(a)]
        if refused or not addresses:
            raise FetchFailed(
                f"{host} resolves to a non-public address {refused}; not connecting",
                permanent=True,
            )
        return addresses

    async def _get(
        self, tool: str, url: str, headers: dict[str, str], extensions: dict[str, Any]
    ) -> Any:
        try:
            async with self.client.stream(
                "GET", url, headers=headers, extensions=extensions
            ) as response:
                code = response.status_code
                if code >= 300:
                    # A redirect is not followed; a 4xx other than 408/429 will not heal.
                    permanent = code < 400 or (code < 500 and code not in (408, 429))
                    raise FetchFailed(
                        f"{tool} API answered {code}", permanent=permanent, status=code
                    )
                body = await self._read_capped(tool, response)
        except httpx.ConnectError as exc:
            raise _Unreachable(f"{tool} API: {exc!r}", permanent=False) from exc
        except httpx.HTTPError as exc:
            raise FetchFailed(f"{tool} API: {exc!r}", permanent=False) from exc
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise FetchFailed(
                f"{tool} API answered with invalid JSON: {exc}", permanent=False
            ) from exc

    async def _read_capped(self, tool: str, response: httpx.Response) -> bytes:
        too_large = FetchFailed(
            f"{tool} API's answer is over {self.max_bytes} bytes", permanent=True
        )
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise too_large
        body = bytearray()
        async for chunk in response.aiter_bytes():  # decoded: the cap holds for gzip too
            body += chunk
            if len(body) > self.max_bytes:
                raise too_large
        return bytes(body)


class _Unreachable(FetchFailed):
    """This address did not answer; another of the host's may."""
