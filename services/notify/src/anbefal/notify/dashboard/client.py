"""The other services' APIs, called as the logged-in person.

The web app holds no figures or sources of its own: it asks scoring's API (the dashboard) or
ingest's (the sources page) with a bearer token it issues for the person in the session (their
tenant, role, email as `sub`, and a team lead's scope), valid for a minute. Each service then
applies its own rules (roles, eNPS anonymity, scope) to the person's own rights, exactly as for
any other API caller.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import httpx

from anbefal.common.auth import Principal, issue_token
from anbefal.common.tls import http_context
from anbefal.notify.settings import NotifySettings

TOKEN_TTL_S = 60


class Unavailable(Exception):
    """The API could not be read (down, slow, or a 5xx): the page says so instead of failing."""


class Refused(Exception):
    """The API refused the request (4xx): `message` says why, in the API's words; `code` and
    `details` (each with its `field`) as the API sent them."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str = "",
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.details = details or []


def token_for(settings: NotifySettings, principal: Principal) -> str:
    return issue_token(
        settings.signing_keys(),
        tenant=principal.tenant,
        role=principal.role,
        sub=principal.sub,
        ttl_s=TOKEN_TTL_S,
        scope=principal.scope,
    )


class Apis:
    """`async with Apis(settings, principal) as apis:` one page's calls, sharing a connection;
    scoring's API unless `base_url` names another service's."""

    def __init__(
        self, settings: NotifySettings, principal: Principal, base_url: str | None = None
    ) -> None:
        self.tenant = principal.tenant
        self._client = httpx.AsyncClient(
            base_url=base_url or settings.scoring_url,
            headers={"Authorization": f"Bearer {token_for(settings, principal)}"},
            timeout=settings.dashboard_api_timeout_s,
            verify=http_context(),
        )

    async def __aenter__(self) -> Apis:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._client.aclose()

    async def get(self, path: str, params: dict[str, str]) -> httpx.Response:
        return await self.send("GET", path, params=params)

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: dict[str, Any] | None = None,
        content: bytes | None = None,
        content_type: str | None = None,
    ) -> httpx.Response:
        """One call to the tenant's API (`path` below `/v1/tenants/{tenant}/`)."""
        try:
            response = await self._client.request(
                method, f"/v1/tenants/{self.tenant}/{path}", params=params, json=json,
                content=content, headers={"Content-Type": content_type} if content_type else None,
            )  # fmt: skip
        except httpx.HTTPError as exc:
            raise Unavailable(str(exc)) from exc
        if response.status_code >= 500:
            raise Unavailable(f"{path}: {response.status_code}")
        if response.status_code >= 400:
            raise _refused(response)
        return response

    async def json(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        body: dict[str, Any] = (await self.get(path, params)).json()
        return body


def _refused(response: httpx.Response) -> Refused:
    try:
        error = response.json().get("error", {})
    except ValueError:
        error = {}
    if not isinstance(error, dict):
        error = {}
    message = str(error.get("message") or response.reason_phrase)
    details = error.get("details")
    return Refused(
        response.status_code,
        message,
        str(error.get("code") or ""),
        details if isinstance(details, list) else [],
    )
