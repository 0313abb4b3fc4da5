"""The scores CSV export: a respondent-chosen segment value never becomes a spreadsheet formula."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

from anbefal.scoring.schemas import IntervalOut, ScoresOut, SegmentScore, WindowOut
from anbefal.scoring.scores_api.output import scores_csv

AS_OF = datetime(2026, 11, 30, 9, 15, tzinfo=UTC)


def export(*values: str) -> list[dict[str, str]]:
    body = ScoresOut(
        tenant="t",
        kind="nps",
        dimension="store",
        window=WindowOut(
            name="30d", first_day=date(2026, 11, 1), last_day=date(2026, 11, 30), time_zone="UTC"
        ),
        as_of=AS_OF,
        segments=[
            SegmentScore(
                value=v,
                n=10,
                promoters=2,
                passives=3,
                detractors=5,
                nps=-30.0,
                interval=IntervalOut(low=-60.0, high=5.0),
            )  # fmt: skip
            for v in values
        ],
    )
    response = scores_csv(body)
    return list(csv.DictReader(io.StringIO(bytes(response.body).decode(), newline="")))


def test_formula_cells_are_written_as_text() -> None:
    hostile = ['=HYPERLINK("http://x.example","open")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]
    rows = export(*hostile, "Aarhus C")
    assert [r["value"] for r in rows] == [f"'{v}" for v in hostile] + ["Aarhus C"]


def test_numbers_stay_numbers() -> None:
    (row,) = export("Aarhus C")
    assert (row["nps"], row["interval_low"], row["n"]) == ("-30.0", "-60.0", "10")


def test_every_row_says_as_of_when_its_figures_are_current() -> None:
    rows = export("Support", "IT")
    assert {row["as_of"] for row in rows} == {"2026-11-30T09:15:00+00:00"}
