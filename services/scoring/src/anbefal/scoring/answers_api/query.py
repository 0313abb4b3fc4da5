"""What a request to the answers or themes API asks for, pure: the period in the tenant's time
zone, the segment values (several dimensions at once, inside the reader's scope), the category,
whether a comment is needed, free text, and the opaque keyset cursor."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from anbefal.common.auth import Principal
from anbefal.common.errors import Unprocessable
from anbefal.common.nps import Category
from anbefal.scoring.grid import GRID_HELP, Cell
from anbefal.scoring.windows import window_days

Kind = Literal["nps", "enps"]
MAX_DAYS = 3 * 366
ENPS_GRID_DETAILS = [
    {"field": "window", "allowed": ["month", "quarter"]},
    {"field": "period", "allowed": ["YYYY-MM", "YYYY-Qn"]},
    {"field": "segment", "allowed": ["at most one dimension"]},
]


def grid_error(why: str) -> Unprocessable:
    return Unprocessable(f"{why}. {GRID_HELP}", code="enps_grid", details=ENPS_GRID_DETAILS)


@dataclass(frozen=True)
class Period:
    first_day: date
    last_day: date
    name: str
    cell: Cell | None = None  # eNPS: the grid cell every comment is dated by


def nps_period(
    window: str | None, period: str | None, first: date | None, last: date | None, today: date
) -> Period:
    """A calendar cell (`period`), a custom range (`from`..`to`) or a window (default `30d`)."""
    if period is not None:
        if window is not None or first is not None or last is not None:
            raise Unprocessable("give `period` alone", code="invalid_window")
        cell = _cell(period, lambda why: Unprocessable(why, code="invalid_window"))
        return Period(cell.first_day, cell.last_day, cell.name)
    if first is not None or last is not None:
        if first is None or last is None or first > last:
            raise Unprocessable("give `from` and `to`, in order", code="invalid_range")
        if (last - first).days >= MAX_DAYS:
            raise Unprocessable(f"a range spans at most {MAX_DAYS} days", code="invalid_range")
        return Period(first, last, "custom")
    try:
        first, last = window_days(window or "30d", today)
    except ValueError as exc:
        raise Unprocessable(str(exc), code="invalid_window") from exc
    return Period(first, last, window or "30d")


def enps_period(
    window: str | None, period: str | None, first: date | None, last: date | None, today: date
) -> Period:
    """eNPS answers are read by whole grid cells only, like eNPS figures."""
    if first is not None or last is not None:
        raise grid_error("eNPS answers have no custom range")
    if period is not None and window is not None:
        raise Unprocessable("give `window` or `period`, not both", code="invalid_window")
    if period is not None:
        cell = _cell(period, grid_error)
    elif window in (None, "month", "quarter"):
        cell = Cell.containing("quarter" if window == "quarter" else "month", today)
    else:
        raise grid_error(f"eNPS answers have no rolling window {window!r}")
    return Period(cell.first_day, cell.last_day, cell.name, cell)


def _cell(text: str, error: Callable[[str], Unprocessable]) -> Cell:
    try:
        return Cell.parse(text)
    except ValueError as exc:
        raise error(str(exc)) from exc


def segment_values(given: list[str], principal: Principal) -> dict[str, str] | None:
    """`dimension:value` filters joined with the reader's scope; None when they contradict it
    (nothing can match)."""
    wanted: dict[str, str] = {}
    for item in given:
        dimension, sep, value = item.partition(":")
        if not sep or not dimension or not value:
            raise Unprocessable(f"segment {item!r} is not dimension:value", code="invalid_segment")
        if dimension in wanted:
            raise Unprocessable(f"segment names {dimension!r} twice", code="invalid_segment")
        wanted[dimension] = value
    for dimension, value in principal.scope:
        if wanted.setdefault(dimension, value) != value:
            return None
    return wanted


@dataclass(frozen=True)
class AnswerQuery:
    tenant: str
    kind: Kind
    period: Period
    segments: dict[str, str]
    category: Category | None = None
    has_comment: bool | None = None
    text: str | None = None


@dataclass(frozen=True)
class Cursor:
    """Where the previous page ended: (answered_at, id) for NPS, newest first; the id alone for
    eNPS, whose comments are ordered by id (it carries no time)."""

    event_id: uuid.UUID
    answered_at: datetime | None = None

    def encode(self) -> str:
        at = "" if self.answered_at is None else self.answered_at.isoformat()
        raw = f"{at}|{self.event_id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            at, _, event_id = raw.partition("|")
            return cls(uuid.UUID(event_id), datetime.fromisoformat(at) if at else None)
        except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
            raise Unprocessable(
                "the cursor is not one this API gave", code="invalid_cursor"
            ) from exc
