"""A person at notify's staff pages over plain HTTP, as a browser is there: cookies kept, each
form's token sent back, and the page's own origin in `Origin`."""

from __future__ import annotations

import re
from typing import Any

import httpx

_TOKEN = re.compile(r'name="csrf" value="([^"]+)"')


def form_token(html: str) -> str:
    """The token in a page's form (every staff form carries the same one); "" if it has none,
    which the server refuses."""
    match = _TOKEN.search(html)
    return match.group(1) if match else ""


class StaffPage:
    def __init__(self, base_url: str, *, local_address: str | None = None) -> None:
        transport = httpx.AsyncHTTPTransport(local_address=local_address)
        self.base_url = base_url
        self.client = httpx.AsyncClient(
            base_url=base_url, transport=transport, timeout=120, headers={"Origin": base_url}
        )

    async def __aenter__(self) -> StaffPage:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()

    async def log_in(self, tenant: str, email: str, password: str) -> httpx.Response:
        login = await self.client.get("/login")
        fields = {"tenant": tenant, "email": email, "password": password}
        return await self.client.post("/login", data={**fields, "csrf": form_token(login.text)})

    async def token(self, page: str = "/queue") -> str:
        """The session's form token, read from a page as the browser has it."""
        return form_token((await self.client.get(page)).text)

    async def submit(self, path: str, data: dict[str, Any], page: str = "/queue") -> httpx.Response:
        """POST a form as its page would, with the session's token."""
        return await self.client.post(path, data={**data, "csrf": await self.token(page)})

    @property
    def session_cookie(self) -> str:
        return str(self.client.cookies.get("anbefal_session"))
