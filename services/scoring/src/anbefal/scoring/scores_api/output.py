"""How the scores API writes its figures: one row per segment (JSON), with the same rows as a
CSV export, and the order of the rows."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from fastapi.responses import Response

from anbefal.scoring import grid
from anbefal.scoring.nps import Figures, significant_change
from anbefal.scoring.schemas import IntervalOut, ScoresOut, SegmentScore
from anbefal.scoring.windows import Window


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def segment_out(value: str, figures: Figures, *, suppress: bool) -> SegmentScore:
    if suppress:
        return SegmentScore(
            value=value, suppressed=True, n=None, promoters=None, passives=None,
            detractors=None, nps=None, interval=None,
        )  # fmt: skip
    interval = figures.interval()
    return SegmentScore(
        value=value,
        n=figures.n,
        promoters=figures.promoters,
        passives=figures.passives,
        detractors=figures.detractors,
        nps=_rounded(figures.nps),
        interval=None
        if interval is None
        else IntervalOut(low=round(interval.low, 2), high=round(interval.high, 2)),
    )


def compared(out: SegmentScore, figures: Figures, before: Figures, window: Window) -> None:
    """Set a shown segment's comparison with the previous period's (shown) figures."""
    out.previous_first_day, out.previous_last_day = window.previous_first, window.previous_last
    out.previous_n = before.n
    out.previous_nps = _rounded(before.nps)
    out.significant_change = significant_change(figures, before)
    if out.nps is not None and out.previous_nps is not None:
        out.change = round(out.nps - out.previous_nps, 2)


def nps_segment(value: str, figures: Figures, before: Figures, window: Window) -> SegmentScore:
    out = segment_out(value, figures, suppress=False)
    compared(out, figures, before, window)
    return out


def grid_segment(row: grid.Row, window: Window) -> SegmentScore:
    if row.figures is None:
        out = segment_out(row.value, Figures(), suppress=True)
        out.suppressed_reason = row.reason
        return out
    out = segment_out(row.value, row.figures, suppress=False)
    if row.previous is None:
        out.previous_first_day, out.previous_last_day = window.previous_first, window.previous_last
        out.previous_suppressed_reason = row.previous_reason
        if row.previous_reason is None:
            out.previous_n = 0  # nobody answered then
    else:
        compared(out, row.figures, row.previous, window)
    return out


def sort_key(sort: str) -> Callable[[SegmentScore], tuple[bool, float, str]]:
    def key(s: SegmentScore) -> tuple[bool, float, str]:
        if sort == "value":
            return (False, 0.0, s.value)
        if s.suppressed or s.n is None:
            return (True, 0.0, s.value)  # suppressed segments last
        if sort == "detractors":
            return (False, -(s.detractors or 0) / max(s.n, 1), s.value)
        if sort == "n":
            return (False, -float(s.n), s.value)
        return (False, -(s.nps or 0.0), s.value)

    return key


CSV_COLUMNS = (
    "value", "suppressed", "n", "promoters", "passives", "detractors", "nps",
    "interval_low", "interval_high", "previous_nps", "significant_change",
    "suppressed_reason", "previous_suppressed_reason", "previous_first_day",
    "previous_last_day", "previous_n", "change", "as_of",
)  # fmt: skip
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "text/csv": {
                "schema": {"type": "string"},
                "example": ",".join(CSV_COLUMNS) + "\r\nSupport,false,42,20,12,10,23.81,"
                "-1.2,46.3,10.0,false,,,2026-10-01,2026-10-31,40,13.81,"
                "2026-11-12T09:00:00+00:00\r\nIT,true,,,,,,,,,,too_few,,,,,,"
                "2026-11-12T09:00:00+00:00\r\n",
            }
        },
        "description": "JSON by default; CSV with `format=csv` or `Accept: text/csv`, one "
        "row per segment, with the same suppression (a hidden eNPS segment has empty cells "
        "and its `suppressed_reason`); every row carries the answer's `as_of`.",
    }
}


# A cell starting with one of these is a formula to a spreadsheet; segment values come from
# respondents' answers, so such a value is written with a leading apostrophe (shown as text).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """`value` as a CSV cell no spreadsheet runs as a formula (numbers stay numbers)."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return spreadsheet_safe(value)


def scores_csv(body: ScoresOut) -> Response:
    out = io.StringIO()
    # CRLF (RFC 4180): a cell holding a CR or LF is then quoted, not split into two rows.
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for s in body.segments:
        row = s.model_dump()
        interval = s.interval
        row["interval_low"] = None if interval is None else interval.low
        row["interval_high"] = None if interval is None else interval.high
        row["as_of"] = body.as_of
        writer.writerow(_cell(row[c]) for c in CSV_COLUMNS)
    window = body.window
    name = f"{body.tenant}-{body.kind}-{body.dimension}-{window.first_day}-{window.last_day}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
