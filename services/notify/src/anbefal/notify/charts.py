"""Charts rendered on the server, one module for every place that shows one: the dashboard
(SVG, inline in the page) and mail (PNG, as an inline image). matplotlib draws them with its
Agg backend and the fonts it ships; nothing is fetched.

A trend chart is two panels over the same periods: the score as a line with its 95% interval as
a band (a hidden eNPS period is a gap, never a guess), and the number of answers per period as
bars, so a reader sees at once how much a point stands on.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import matplotlib

matplotlib.use("Agg")  # before anything else of matplotlib: no display, no GUI toolkit

from matplotlib import rcParams  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

rcParams["svg.fonttype"] = "none"  # text stays text: smaller, selectable, the page's font
rcParams["svg.hashsalt"] = "anbefal"  # the same chart gives the same SVG (stable ids)
rcParams["font.family"] = "DejaVu Sans"  # shipped with matplotlib

LINE = "#1d3557"
BAND = "#a8c5e6"
BARS = "#8d99ae"
# matplotlib's font cache and text layout are shared by the process: one chart at a time.
_LOCK = threading.Lock()


@dataclass(frozen=True)
class TrendPoint:
    period_start: date
    nps: float | None  # None: no answers, or hidden (eNPS)
    low: float | None
    high: float | None
    n: int | None


@dataclass(frozen=True)
class TrendLabels:
    """The chart's words in the reader's language."""

    title: str
    score: str  # "NPS" or "eNPS"
    answers: str  # "Answers"
    interval: str  # "95% interval"
    date_format: str = "%d.%m"


def _figure(points: Sequence[TrendPoint], labels: TrendLabels) -> Figure:
    fig = Figure(figsize=(8, 3.6), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    xs = list(range(len(points)))
    ys = [p.nps if p.nps is not None else float("nan") for p in points]
    lows = [p.low if p.low is not None else float("nan") for p in points]
    highs = [p.high if p.high is not None else float("nan") for p in points]
    band = top.fill_between(
        xs, lows, highs, color=BAND, alpha=0.6, linewidth=0, label=labels.interval
    )
    band.set_gid("interval-band")
    top.plot(
        xs, ys, color=LINE, linewidth=2, marker="o", markersize=3, label=labels.score,
        gid="score-line",
    )  # fmt: skip
    top.axhline(0, color="#c0c6cf", linewidth=0.8)
    top.set_ylim(-100, 100)
    top.set_ylabel(labels.score)
    top.set_title(labels.title, loc="left", fontsize=11)
    top.legend(loc="lower left", fontsize=8, frameon=False, ncols=2)
    top.grid(axis="y", color="#e5e8ec", linewidth=0.6)
    bars = bottom.bar(xs, [p.n or 0 for p in points], color=BARS, width=0.7)
    for bar in bars:
        bar.set_gid("answers-bar")
    bottom.set_ylabel(labels.answers)
    bottom.set_ylim(0, max([p.n or 0 for p in points] + [1]) * 1.1)
    ticks = xs if len(xs) <= 13 else xs[:: -(-len(xs) // 13)]
    bottom.set_xticks(ticks, [points[i].period_start.strftime(labels.date_format) for i in ticks])
    bottom.tick_params(axis="x", labelsize=8)
    for axis in (top, bottom):
        axis.spines[["top", "right"]].set_visible(False)
    return fig


def _render(points: Sequence[TrendPoint], labels: TrendLabels, fmt: str) -> bytes:
    out = io.BytesIO()
    with _LOCK:
        figure = _figure(points, labels)
        metadata = {"Date": None} if fmt == "svg" else {}
        figure.savefig(out, format=fmt, dpi=110, metadata=metadata)
    return out.getvalue()


def trend_svg(points: Sequence[TrendPoint], labels: TrendLabels) -> str:
    """The trend chart as an `<svg>` element, without the XML prologue, to put inside a page."""
    document = _render(points, labels, "svg").decode()
    return document[document.index("<svg") :]


def trend_png(points: Sequence[TrendPoint], labels: TrendLabels) -> bytes:
    """The trend chart as a PNG image (for mail, where SVG is not shown)."""
    return _render(points, labels, "png")
