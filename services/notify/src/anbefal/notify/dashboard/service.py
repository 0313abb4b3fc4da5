"""What the dashboard shows, read from the APIs and put in words: the headline figures with
their change, the trends (as charts), and one dimension's segments."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal
from urllib.parse import urlencode

from anbefal.notify import charts
from anbefal.notify.dashboard.client import Apis, Refused, Unavailable
from anbefal.notify.dashboard.words import day, number

Kind = Literal["nps", "enps"]
NPS_WINDOWS = ("30d", "90d", "365d", "month", "quarter", "year")
ENPS_WINDOWS = ("month", "quarter")
SORTS = ("nps", "n", "detractors", "value")
TREND_WEEKS = 26
TREND_MONTHS = 6


@dataclass(frozen=True)
class Query:
    """The segment table's choices, from the page's form (anything unknown falls back)."""

    kind: Kind = "nps"
    window: str = "30d"
    dimension: str = "department"
    sort: str = "nps"
    filter: str = ""  # `dimension:value`, NPS only

    @classmethod
    def of(cls, kind: str, window: str, dimension: str, sort: str, filter: str = "") -> Query:
        k: Kind = "enps" if kind == "enps" else "nps"
        windows = ENPS_WINDOWS if k == "enps" else NPS_WINDOWS
        return cls(
            kind=k,
            window=window if window in windows else windows[0],
            dimension=dimension.strip()[:40] or "department",
            sort=sort if sort in SORTS else "nps",
            filter=filter.strip() if k == "nps" else "",
        )

    def params(self) -> dict[str, str]:
        out = {
            "kind": self.kind, "window": self.window, "dimension": self.dimension,
            "sort": self.sort,
        }  # fmt: skip
        return {**out, "filter": self.filter} if self.filter else out

    def link(self, **changes: str) -> str:
        """These choices (with `changes`) as a query string, for the sort links and the CSV."""
        return urlencode({**self.params(), **changes})


@dataclass
class Figure:
    """One segment's figures as the API gave them, and in words."""

    value: str
    api: dict[str, Any]
    change: str = ""
    hidden_why: str = ""


@dataclass
class Section:
    """A part of the page; `error` instead of content when its API could not be read."""

    error: str | None = None
    figures: list[Figure] = field(default_factory=list)
    window: dict[str, Any] = field(default_factory=dict)
    as_of: str | None = None
    svg: str = ""


def hidden_words(words: dict[str, str], reason: str | None) -> str:
    return words.get(reason or "", words["unknown_reason"])


def change_words(words: dict[str, str], segment: dict[str, Any], locale: str) -> str:
    """The change against the previous period in a sentence: how much, from what, over which
    days and answers, and whether it is more than chance (the API's significance test)."""
    if segment.get("nps") is None:
        return ""
    previous = segment.get("previous_nps")
    if previous is None:
        reason = segment.get("previous_suppressed_reason")
        if reason:
            return words["previous_hidden"].format(why=hidden_words(words, reason))
        return words["no_previous"]
    delta = segment.get("change")
    if delta is None:
        delta = segment["nps"] - previous
    key = "up" if delta > 0 else "down" if delta < 0 else "same"
    period = ""
    if segment.get("previous_first_day") and segment.get("previous_last_day"):
        period = words["period"].format(
            first=day(segment["previous_first_day"], locale),
            last=day(segment["previous_last_day"], locale),
        )
    sentence = words[key].format(
        delta=number(abs(delta), locale),
        previous=number(previous, locale),
        period=period,
        n=segment.get("previous_n") if segment.get("previous_n") is not None else "?",
    )
    verdict = words["significant" if segment.get("significant_change") else "not_significant"]
    return f"{sentence}. {verdict}"


def _figure(words: dict[str, str], segment: dict[str, Any], locale: str) -> Figure:
    hidden = hidden_words(words, segment.get("suppressed_reason"))
    return Figure(
        value=segment["value"],
        api=segment,
        change=change_words(words, segment, locale),
        hidden_why=hidden if segment.get("suppressed") else "",
    )


async def _read(words: dict[str, str], read: Awaitable[dict[str, Any]]) -> dict[str, Any] | str:
    """The API's answer, or the words to show instead of the section."""
    try:
        return await read
    except Unavailable:
        return words["unavailable"]
    except Refused as exc:
        return exc.message


async def _scores(words: dict[str, str], locale: str, read: Awaitable[dict[str, Any]]) -> Section:
    body = await _read(words, read)
    if isinstance(body, str):
        return Section(error=body)
    return Section(
        figures=[_figure(words, s, locale) for s in body["segments"]],
        window=body["window"],
        as_of=body.get("as_of"),
    )


def trend_points(body: dict[str, Any]) -> list[charts.TrendPoint]:
    out = []
    for p in body["points"]:
        interval = p.get("interval") or {}
        out.append(
            charts.TrendPoint(
                period_start=date.fromisoformat(p["period_start"]),
                nps=p.get("nps"),
                low=interval.get("low"),
                high=interval.get("high"),
                n=p.get("n"),
            )
        )
    return out


def trend_params(kind: Kind, today: date) -> dict[str, str]:
    """NPS per week over the last 26 weeks; eNPS per month (its grid) over the last 6."""
    if kind == "nps":
        first = today - timedelta(weeks=TREND_WEEKS - 1)
        return {"kind": "nps", "interval": "week", "from": str(first), "to": str(today)}
    first = today.replace(day=1)
    for _ in range(TREND_MONTHS - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    return {"kind": "enps", "interval": "month", "from": str(first), "to": str(today)}


def trend_labels(words: dict[str, str], kind: Kind, title: str) -> charts.TrendLabels:
    """A trend chart's words, the same on the page and in the digest: NPS by day, eNPS by
    month."""
    return charts.TrendLabels(
        title=title,
        score="NPS" if kind == "nps" else "eNPS",
        answers=words["chart_answers"],
        interval=words["chart_score_interval"],
        date_format="%d.%m" if kind == "nps" else "%m.%Y",
    )


async def _trend(
    apis: Apis, words: dict[str, str], locale: str, kind: Kind, today: date
) -> Section:
    body = await _read(words, apis.json("scores/timeseries", trend_params(kind, today)))
    if isinstance(body, str):
        return Section(error=body)
    labels = trend_labels(words, kind, words[f"{kind}_trend"])
    points = trend_points(body)
    window = {
        "first_day": day(body["first_day"], locale),
        "last_day": day(body["last_day"], locale),
    }
    if not any(p.n for p in points):
        return Section(window=window)  # nothing to draw: the page says so
    svg = await asyncio.to_thread(charts.trend_svg, points, labels)
    return Section(svg=svg, window=window, as_of=body.get("as_of"))


@dataclass
class Dashboard:
    nps: Section
    enps: Section
    nps_trend: Section
    enps_trend: Section
    segments: Section


async def dashboard(
    apis: Apis, words: dict[str, str], locale: str, query: Query, today: date
) -> Dashboard:
    """Every section of the page, read at once."""
    nps, enps, nps_trend, enps_trend, segments = await asyncio.gather(
        _scores(words, locale, apis.json("scores", HEADLINES["nps"])),
        _scores(words, locale, apis.json("scores", HEADLINES["enps"])),
        _trend(apis, words, locale, "nps", today),
        _trend(apis, words, locale, "enps", today),
        _scores(words, locale, apis.json("scores", query.params())),
    )
    return Dashboard(nps, enps, nps_trend, enps_trend, segments)


# The headline figures: NPS over the last 30 days, eNPS of this month's cell.
HEADLINES: dict[Kind, dict[str, str]] = {
    "nps": {"kind": "nps", "window": "30d", "dimension": "all"},
    "enps": {"kind": "enps", "window": "month", "dimension": "all"},
}
