"""Form bodies some tools post (Jotform: multipart; Qualtrics: urlencoded), parsed from the raw
bytes we already hold, because the signature (or the token check) must see those bytes first."""

from __future__ import annotations

from urllib.parse import parse_qsl

from python_multipart.multipart import MultipartParser, parse_options_header

from anbefal.ingest.webhooks.adapters.base import MalformedBody

MAX_PARTS = 1000


def parse_multipart(body: bytes, boundary: bytes) -> dict[str, str]:
    """The text parts of a multipart/form-data body by name (files are ignored)."""
    parts: dict[str, str] = {}
    state: dict[str, object] = {}
    header_field = bytearray()
    header_value = bytearray()
    headers: dict[bytes, bytes] = {}
    data = bytearray()

    def on_part_begin() -> None:
        headers.clear()
        data.clear()

    def on_header_field(chunk: bytes, start: int, end: int) -> None:
        header_field.extend(chunk[start:end])

    def on_header_value(chunk: bytes, start: int, end: int) -> None:
        header_value.extend(chunk[start:end])

    def on_header_end() -> None:
        headers[bytes(header_field).lower()] = bytes(header_value)
        header_field.clear()
        header_value.clear()

    def on_part_data(chunk: bytes, start: int, end: int) -> None:
        data.extend(chunk[start:end])

    def on_part_end() -> None:
        if len(parts) >= MAX_PARTS:
            state["too_many"] = True
            return
        _, options = parse_options_header(headers.get(b"content-disposition", b""))
        name = options.get(b"name")
        if name is None or b"filename" in options:
            return
        try:
            parts[name.decode()] = data.decode()
        except UnicodeDecodeError:
            state["bad_text"] = True

    parser = MultipartParser(
        boundary,
        callbacks={
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    try:
        parser.write(body)
        parser.finalize()
    except Exception as exc:  # the parser's errors are not a documented hierarchy
        raise MalformedBody(f"body is not valid multipart/form-data: {exc}") from exc
    if state.get("too_many"):
        raise MalformedBody(f"more than {MAX_PARTS} form parts")
    if state.get("bad_text"):
        raise MalformedBody("a form part is not UTF-8 text")
    return parts


def parse_urlencoded(body: bytes) -> dict[str, str]:
    try:
        text = body.decode()
    except UnicodeDecodeError as exc:
        raise MalformedBody("body is not UTF-8") from exc
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))
    except ValueError as exc:
        raise MalformedBody(f"body is not application/x-www-form-urlencoded: {exc}") from exc
    return dict(pairs)
