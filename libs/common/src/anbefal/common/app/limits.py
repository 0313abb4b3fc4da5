"""Request caps every service shares, applied before any route reads the body.

- A body over `ANBEFAL_HTTP_MAX_BODY_BYTES` is answered 413 (by its Content-Length at once, or when
  a streamed body passes the limit), so an upload route never holds more than that in memory.
- A multipart body that carries a file is answered 415 on services that take no uploads (all
  but ingest, whose Jotform webhook is multipart): forms post fields, never files, except at
  the paths a service names for uploads (an admin's CSV file). Multipart fields without a file
  still pass (RFC 8058 one-click unsubscribes may be multipart).
"""

from __future__ import annotations

import re

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from anbefal.common.app.errors import error_body

_BOUNDARY = re.compile(rb'boundary="?([^";]+)"?', re.IGNORECASE)
_FILENAME = re.compile(rb"content-disposition:[^\r\n]*\bfilename\*?=", re.IGNORECASE)


class _TooLarge(Exception):
    pass


def has_file_part(body: bytes, content_type: bytes) -> bool:
    """Whether a multipart/form-data body has a part with a file name (an upload)."""
    found = _BOUNDARY.search(content_type)
    if found is None:
        return True  # not parseable as a form: treat as an upload
    for part in body.split(b"--" + found.group(1)):
        headers = part.split(b"\r\n\r\n", 1)[0]
        if _FILENAME.search(headers):
            return True
    return False


class RequestLimits:
    """A pure ASGI middleware; see the module's doc."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        refuse_uploads: bool,
        upload_paths: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.refuse_uploads = refuse_uploads
        self.upload_paths = upload_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            await self._too_large(send)
            return
        content_type = headers.get(b"content-type", b"").lower()
        refused = self.refuse_uploads and scope["path"] not in self.upload_paths
        if refused and content_type.startswith(b"multipart/"):
            try:
                body = await self._read_all(receive)
            except _TooLarge:
                await self._too_large(send)
                return
            if has_file_part(body, headers.get(b"content-type", b"")):
                await _answer(
                    send, 415, "file_upload_refused",
                    "this service takes no file uploads: post the form's fields "
                    "(application/x-www-form-urlencoded) without a file",
                )  # fmt: skip
                return
            await self.app(scope, _replay(body), send)
            return
        received = 0
        started = False

        async def capped_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, capped_receive, tracking_send)
        except _TooLarge:
            if started:
                raise
            await self._too_large(send)

    async def _read_all(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _too_large(self, send: Send) -> None:
        await _answer(
            send, 413, "body_too_large",
            f"the body is over this service's limit of {self.max_body_bytes} bytes "
            "(ANBEFAL_HTTP_MAX_BODY_BYTES)",
        )  # fmt: skip


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


async def _answer(send: Send, status: int, code: str, message: str) -> None:
    payload = orjson.dumps(error_body(code, message))
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
