"""Cursor pagination for notify's lists (tasks, the queue, the email and chat logs, the audit
trail): a keyset cursor over each list's own order, so pages neither skip nor repeat while rows
arrive, and the total of the whole list beside each page."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any

import orjson

from anbefal.common.errors import Unprocessable


def encode(values: Sequence[Any]) -> str:
    """The cursor after a row: the values of its sort key, as JSON (`str` for the rest)."""
    raw = orjson.dumps([v if isinstance(v, int | None) else str(v) for v in values])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, size: int) -> list[Any]:
    """The sort key values a cursor holds; 422 `invalid_cursor` for one we did not give out."""
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError, binascii.Error) as exc:
        raise invalid_cursor() from exc
    if not isinstance(values, list) or len(values) != size:
        raise invalid_cursor()
    return values


def invalid_cursor() -> Unprocessable:
    return Unprocessable(
        "cursor is not one this API gave out",
        code="invalid_cursor",
        details=[{"field": "cursor", "message": "use next_cursor from the previous page"}],
    )
