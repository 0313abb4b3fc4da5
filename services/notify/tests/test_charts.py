"""The chart module: the trend as SVG (for pages) and PNG (for mail), drawn on the server from
the API's figures, with the interval band and the answer counts, and nothing fetched."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, timedelta

from anbefal.notify.charts import TrendLabels, TrendPoint, trend_png, trend_svg

LABELS = TrendLabels(title="NPS per week", score="NPS", answers="Answers", interval="95% interval")
SVG = "{http://www.w3.org/2000/svg}"


def points(weeks: int = 26) -> list[TrendPoint]:
    start = date(2026, 6, 1)
    out = []
    for i in range(weeks):
        nps = None if i == 3 else float(10 + i)  # week 3: no answers, a gap
        out.append(
            TrendPoint(
                period_start=start + timedelta(weeks=i),
                nps=nps,
                low=None if nps is None else nps - 12,
                high=None if nps is None else nps + 12,
                n=None if nps is None else 40 + i,
            )
        )
    return out


def test_the_trend_is_an_svg_with_a_band_a_line_and_a_bar_per_period() -> None:
    svg = trend_svg(points(), LABELS)
    root = ET.fromstring(svg)
    assert svg.startswith("<svg")  # no XML prologue: it goes inside a page
    assert root.tag == f"{SVG}svg"
    text = "".join(root.itertext())
    assert "NPS per week" in text
    assert "Answers" in text
    assert "95% interval" in text
    # The band, the line, and a bar for each period (an empty period's bar has no height).
    ids = [str(g.get("id")) for g in root.iter(f"{SVG}g")]
    assert ids.count("interval-band") == 1
    assert ids.count("score-line") == 1
    assert ids.count("answers-bar") == 26
    # Nothing for a browser to fetch or run: no web fonts, scripts, images or links out.
    for fetched in ('href="http', "url(http", "@import", "@font-face", "<image", "<script"):
        assert fetched not in svg


def test_the_same_figures_give_the_same_svg_and_a_png_for_mail() -> None:
    assert trend_svg(points(), LABELS) == trend_svg(points(), LABELS)
    png = trend_png(points(), LABELS)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(png) > 5_000
