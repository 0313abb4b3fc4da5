"""The API docs work offline: every asset `/docs` and `/redoc` load is the service's own."""

from __future__ import annotations

import re

import httpx
import pytest
from pydantic import SecretStr

from anbefal.common.app import create_service_app
from anbefal.common.settings import BaseServiceSettings

# src="..." and href="..." and the quoted urls handed to SwaggerUIBundle / Redoc.
_ASSET = re.compile(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""")


@pytest.fixture
def client() -> httpx.AsyncClient:
    settings = BaseServiceSettings(jwt_secret=SecretStr("d" * 40))
    app = create_service_app(
        name="docs-test", title="Docs test", description="", settings=settings, routers=[]
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_load_every_asset_from_the_service_itself(
    client: httpx.AsyncClient, page: str
) -> None:
    async with client:
        html = (await client.get(page)).text
        assets = set(_ASSET.findall(html))
        assert assets, f"{page} references no asset"
        for asset in assets:
            assert asset.startswith("/"), f"{page} loads {asset} from another host"
            answer = await client.get(asset)
            assert answer.status_code == 200, f"{asset}: {answer.status_code}"
            assert answer.content
