"""Request caps every service shares: a body over the service's limit and a file upload on a
service that takes none are refused before any route reads them, with an answer that names the
limit (issue 14, finding 10)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter, Form, Request
from pydantic import SecretStr

from anbefal.common.app import create_service_app
from anbefal.common.settings import BaseServiceSettings

router = APIRouter()


@router.post("/echo")
async def echo(request: Request) -> dict[str, int]:
    return {"bytes": len(await request.body())}


@router.post("/form")
async def form(note: str = Form("")) -> dict[str, str]:
    return {"note": note}


@router.post("/upload")
async def upload(request: Request) -> dict[str, int]:
    async with request.form() as form:
        return {"files": sum(1 for v in form.values() if not isinstance(v, str))}


def client(**settings: object) -> httpx.AsyncClient:
    app = create_service_app(
        name="ingest",
        title="Limits test",
        description="",
        settings=BaseServiceSettings(jwt_secret=SecretStr("l" * 40), **settings),  # type: ignore[arg-type]
        routers=[router],
        refuse_uploads=True,
        upload_paths=("/upload",),
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc")


async def test_a_body_over_the_limit_is_refused_naming_the_limit() -> None:
    async with client(http_max_body_bytes=2000) as api:
        assert (await api.post("/echo", content=b"x" * 2000)).json() == {"bytes": 2000}
        refused = await api.post("/echo", content=b"x" * 2001)
    assert refused.status_code == 413
    error = refused.json()["error"]
    assert error["code"] == "body_too_large"
    assert "2000 bytes" in error["message"]
    assert "ANBEFAL_HTTP_MAX_BODY_BYTES" in error["message"]


async def test_a_streamed_body_without_a_length_is_cut_at_the_limit() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(50):
            yield b"y" * 100

    async with client(http_max_body_bytes=2000) as api:
        refused = await api.post("/echo", content=chunks())
    assert refused.status_code == 413


@pytest.mark.parametrize(
    "files",
    [
        {"upload": ("evil.html", b"<script>", "text/html")},
        {"upload": ("a.bin", b"\x00" * 10, "application/octet-stream")},
    ],
)
async def test_a_file_upload_is_refused(files: dict[str, tuple[str, bytes, str]]) -> None:
    async with client() as api:
        refused = await api.post("/form", data={"note": "hi"}, files=files)
    assert refused.status_code == 415
    assert "file" in refused.json()["error"]["message"]


async def test_multipart_fields_without_files_still_work() -> None:
    # RFC 8058 one-click unsubscribes may come as multipart/form-data without a file.
    async with client() as api:
        answer = await api.post("/form", files={"note": (None, b"List-Unsubscribe=One-Click")})
        urlencoded = await api.post("/form", data={"note": "plain"})
    assert answer.json() == {"note": "List-Unsubscribe=One-Click"}
    assert urlencoded.json() == {"note": "plain"}


async def test_a_route_named_for_uploads_takes_a_file_within_the_limit() -> None:
    csv_file = {"file": ("accounts.csv", b"account_id\nacme\n", "text/csv")}
    async with client(http_max_body_bytes=2000) as api:
        taken = await api.post("/upload", data={"csrf": "x"}, files=csv_file)
        too_large = await api.post("/upload", files={"file": ("a.csv", b"z" * 3000, "text/csv")})
        elsewhere = await api.post("/form", files=csv_file)
    assert taken.json() == {"files": 1}
    assert too_large.status_code == 413
    assert elsewhere.status_code == 415
