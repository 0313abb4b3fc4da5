"""What a request to the answers or themes API asks for: the period in the tenant's time zone
(the scores API's windows and grid cells, `scores_api/request.py`), the segment filter inside
the reader's scope (`segment_filter.py`), the category, whether a comment is needed, free text,
and the opaque keyset cursor (pure)."""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from anbefal.common.errors import Unprocessable
from anbefal.common.nps import Category
from anbefal.scoring.grid import Cell
from anbefal.scoring.scores_api.request import enps_cell, nps_window
from anbefal.scoring.segment_filter import SegmentFilter

Kind = Literal["nps", "enps"]


@dataclass(frozen=True)
class Period:
    first_day: date
    last_day: date
    name: str
    cell: Cell | None = None  # eNPS: the grid cell every comment is dated by


def period_of(
    kind: Kind,
    window: str | None,
    period: str | None,
    first: date | None,
    last: date | None,
    today: date,
) -> Period:
    """NPS: a window (default `30d`), a custom range or a cell; eNPS: whole grid cells only,
    like eNPS figures (422 `enps_grid` otherwise)."""
    if kind == "enps":
        cell = enps_cell(window, period, first, last, today)
        return Period(cell.first_day, cell.last_day, cell.name, cell)
    days = nps_window(window, period, first, last, today)
    return Period(days.first, days.last, days.name)


@dataclass(frozen=True)
class AnswerQuery:
    tenant: str
    kind: Kind
    period: Period
    segments: SegmentFilter
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
    def decode(cls, text: str, kind: Kind) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            at, _, event_id = raw.partition("|")
            cursor = cls(uuid.UUID(event_id), datetime.fromisoformat(at) if at else None)
        except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
            raise Unprocessable(
                "the cursor is not one this API gave", code="invalid_cursor"
            ) from exc
        if (cursor.answered_at is None) != (kind == "enps"):
            raise Unprocessable("the cursor is of another kind", code="invalid_cursor")
        return cursor
